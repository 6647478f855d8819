using LiveUpdates.Mongo;
using LiveUpdates.Mongo.Internal;
using LiveUpdates.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the MongoDB dashboard permission store to LiveUpdates: <c>services.AddLiveUpdates(…).AddMongoPermissionStore()</c>.
/// The store reads the bot's <c>dashboardpermissions</c> collection, one query per guild, cached for
/// <see cref="MongoPermissionStoreOptions.CacheDuration"/>; the dashboard permission model reads it when the host
/// registers an <see cref="IGuildMemberSource"/>.
/// </summary>
/// <remarks>
/// Settings, lowest precedence first: the defaults, a configuration section, the environment variables
/// <c>MONGODB_URI</c> and <c>MONGODB_DATABASE</c>, then code. They are validated when the host starts: without a
/// connection string, or with a malformed one, start-up fails with a message naming the setting. Adding the store
/// more than once registers it once; a <see cref="IDashboardPermissionStore"/> the host registers itself wins.
/// </remarks>
public static class LiveUpdatesMongoBuilderExtensions
{
    /// <summary>Adds the MongoDB permission store, configured by the environment variables <c>MONGODB_URI</c> (required) and <c>MONGODB_DATABASE</c>.</summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddMongoPermissionStore(this ILiveUpdatesBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<MongoPermissionStoreOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<MongoPermissionStoreOptions>, MongoOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MongoPermissionStoreOptions>, MongoOptionsSetup>());
        services.TryAddSingleton<IDashboardPermissionStore>(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<MongoPermissionStoreOptions>>().Value;
            return new MongoDashboardPermissionStore(MongoOptionsSetup.OpenCollection(options), options.CacheDuration, sp.GetService<TimeProvider>() ?? TimeProvider.System);
        });
        return builder;
    }

    /// <summary>Adds the MongoDB permission store with settings in code, applied after the environment variables.</summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <param name="configure">Sets the store's options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddMongoPermissionStore(this ILiveUpdatesBuilder builder, Action<MongoPermissionStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddMongoPermissionStore();
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>Adds the MongoDB permission store reading <paramref name="connectionString"/>, which wins over <c>MONGODB_URI</c>.</summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <param name="connectionString">The bot's MongoDB connection string, e.g. <c>mongodb://localhost:27017/bot</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddMongoPermissionStore(this ILiveUpdatesBuilder builder, string connectionString)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        return builder.AddMongoPermissionStore(o => o.ConnectionString = connectionString);
    }

    /// <summary>
    /// Adds the MongoDB permission store with settings bound from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("LiveUpdates:Mongo")</c>, keys <c>ConnectionString</c>, <c>DatabaseName</c>,
    /// <c>CollectionName</c>, <c>CacheDuration</c>); <c>MONGODB_URI</c> and <c>MONGODB_DATABASE</c> override it.
    /// </summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <param name="configuration">The configuration section holding <see cref="MongoPermissionStoreOptions"/> keys.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddMongoPermissionStore(this ILiveUpdatesBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);

        // Bound before the environment set-up is registered, so MONGODB_URI / MONGODB_DATABASE override the section.
        builder.Services.AddOptions<MongoPermissionStoreOptions>().Bind(configuration);
        return builder.AddMongoPermissionStore();
    }
}
