using Microsoft.Extensions.Options;
using MongoDB.Driver;

namespace LiveUpdates.Hosting.Mongo;

/// <summary>Applies <c>MONGODB_URI</c> and <c>MONGODB_DATABASE</c>, and checks the Mongo settings at start-up.</summary>
internal sealed class MongoOptionsSetup : IConfigureOptions<LiveUpdatesMongoOptions>, IValidateOptions<LiveUpdatesMongoOptions>
{
    public const string UriVariable = "MONGODB_URI";
    public const string DatabaseVariable = "MONGODB_DATABASE";

    private readonly Func<string, string?> _getVariable;

    public MongoOptionsSetup()
        : this(Environment.GetEnvironmentVariable)
    {
    }

    internal MongoOptionsSetup(Func<string, string?> getVariable) => _getVariable = getVariable;

    public void Configure(LiveUpdatesMongoOptions options)
    {
        if (_getVariable(UriVariable) is { Length: > 0 } uri)
        {
            options.ConnectionString = uri;
        }

        if (_getVariable(DatabaseVariable) is { Length: > 0 } database)
        {
            options.DatabaseName = database;
        }
    }

    public ValidateOptionsResult Validate(string? name, LiveUpdatesMongoOptions options)
    {
        if (string.IsNullOrEmpty(options.ConnectionString))
        {
            return ValidateOptionsResult.Success;
        }

        MongoUrl url;
        try
        {
            url = MongoUrl.Create(options.ConnectionString);
        }
        catch (MongoConfigurationException ex)
        {
            return ValidateOptionsResult.Fail($"LiveUpdates:Mongo:ConnectionString (environment variable {UriVariable}) is not a MongoDB connection string: {ex.Message}");
        }

        var errors = new List<string>();
        if (string.IsNullOrEmpty(options.DatabaseName) && string.IsNullOrEmpty(url.DatabaseName))
        {
            errors.Add($"LiveUpdates:Mongo:DatabaseName (environment variable {DatabaseVariable}) is not set and the connection string names no database; set one of them to the bot's database.");
        }

        if (string.IsNullOrWhiteSpace(options.CollectionName))
        {
            errors.Add("LiveUpdates:Mongo:CollectionName is empty; leave the default 'dashboardpermissions' or name the collection.");
        }

        if (options.CacheDuration < TimeSpan.Zero)
        {
            errors.Add($"LiveUpdates:Mongo:CacheDuration is {options.CacheDuration}; set 00:00:00 (no cache) or a positive time span.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Opens the collection named by valid <paramref name="options"/>.</summary>
    public static IMongoCollection<MongoDB.Bson.BsonDocument> OpenCollection(LiveUpdatesMongoOptions options)
    {
        var url = MongoUrl.Create(options.ConnectionString);
        var client = new MongoClient(url);
        return client.GetDatabase(string.IsNullOrEmpty(options.DatabaseName) ? url.DatabaseName : options.DatabaseName)
            .GetCollection<MongoDB.Bson.BsonDocument>(options.CollectionName);
    }
}
