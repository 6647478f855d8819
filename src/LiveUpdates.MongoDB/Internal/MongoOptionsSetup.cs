using Microsoft.Extensions.Options;
using MongoDB.Bson;
using MongoDB.Driver;

namespace LiveUpdates.Mongo.Internal;

/// <summary>Applies <c>MONGODB_URI</c> and <c>MONGODB_DATABASE</c>, and checks the store's settings at start-up.</summary>
internal sealed class MongoOptionsSetup : IConfigureOptions<MongoPermissionStoreOptions>, IValidateOptions<MongoPermissionStoreOptions>
{
    public const string UriVariable = "MONGODB_URI";
    public const string DatabaseVariable = "MONGODB_DATABASE";

    private readonly Func<string, string?> _getVariable;

    public MongoOptionsSetup()
        : this(Environment.GetEnvironmentVariable)
    {
    }

    internal MongoOptionsSetup(Func<string, string?> getVariable) => _getVariable = getVariable;

    public void Configure(MongoPermissionStoreOptions options)
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

    public ValidateOptionsResult Validate(string? name, MongoPermissionStoreOptions options)
    {
        if (string.IsNullOrEmpty(options.ConnectionString))
        {
            return ValidateOptionsResult.Fail($"LiveUpdates:Mongo:ConnectionString (environment variable {UriVariable}) is not set; set it to the bot's MongoDB connection string, e.g. 'mongodb://localhost:27017/bot', or do not add the MongoDB permission store.");
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
    public static IMongoCollection<BsonDocument> OpenCollection(MongoPermissionStoreOptions options)
    {
        var url = MongoUrl.Create(options.ConnectionString);
        var client = new MongoClient(url);
        return client.GetDatabase(string.IsNullOrEmpty(options.DatabaseName) ? url.DatabaseName : options.DatabaseName)
            .GetCollection<BsonDocument>(options.CollectionName);
    }
}
