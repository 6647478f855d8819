using LiveUpdates;
using System.Diagnostics.Metrics;
using LiveUpdates.Brokers;
using LiveUpdates.Hosting;
using LiveUpdates.Hosting.Internal;
using LiveUpdates.Hosting.Mongo;
using LiveUpdates.Internal;
using LiveUpdates.Internal.Security;
using LiveUpdates.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers LiveUpdates in a host: the WebSocket server, <see cref="IBroadcaster"/> and the hosted service that runs them.
/// Register an <see cref="IGuildMemberSource"/> (before or after) to have access follow the bot's dashboard permission
/// model; set <c>MONGODB_URI</c> (or <c>LiveUpdates:Mongo:ConnectionString</c>) to read its <c>dashboardpermissions</c>.
/// </summary>
public static class LiveUpdatesServiceCollectionExtensions
{
    /// <summary>
    /// Adds the LiveUpdates WebSocket server. Settings come from the environment variables <c>WS_PORT</c>,
    /// <c>AUTH_SECRET</c> and <c>AUTH_SECRET_1</c>..<c>AUTH_SECRET_3</c>, then from <paramref name="configure"/>; they are validated when the host starts.
    /// Calling it more than once registers the services once (each call's <paramref name="configure"/> still applies).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options in code; runs after the environment variables, so code wins.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddLiveUpdates(this IServiceCollection services, Action<LiveUpdatesOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services);
        if (configure is not null)
        {
            services.Configure(configure);
        }

        return services;
    }

    /// <summary>
    /// Adds the LiveUpdates WebSocket server with settings bound from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("LiveUpdates")</c>); the environment variables <c>WS_PORT</c> and
    /// <c>AUTH_SECRET</c> override it, and <paramref name="configure"/> overrides both.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section holding <see cref="LiveUpdatesOptions"/> keys such as <c>Port</c> and <c>AuthSecret</c>.</param>
    /// <param name="configure">Sets options in code, last.</param>
    /// <returns>The service collection, for chaining.</returns>
    public static IServiceCollection AddLiveUpdates(this IServiceCollection services, IConfiguration configuration, Action<LiveUpdatesOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        // Bind before the environment set-up is registered, so WS_PORT / AUTH_SECRET / MONGODB_URI override the section.
        services.AddOptions<LiveUpdatesOptions>().Bind(configuration);
        services.AddOptions<LiveUpdatesMongoOptions>().Bind(configuration.GetSection("Mongo"));
        return services.AddLiveUpdates(configure);
    }

    private static void AddCore(IServiceCollection services)
    {
        services.AddOptions<LiveUpdatesOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LiveUpdatesOptions>, EnvironmentOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LiveUpdatesOptions>, LiveUpdatesOptionsValidator>());

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ITokenValidator>(static sp =>
            new SessionTokenValidator(sp.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value, sp.GetRequiredService<TimeProvider>()));
        services.AddOptions<LiveUpdatesMongoOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LiveUpdatesMongoOptions>, MongoOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LiveUpdatesMongoOptions>, MongoOptionsSetup>());
        services.TryAddSingleton<IDashboardPermissionStore>(static sp =>
        {
            var mongo = sp.GetRequiredService<IOptions<LiveUpdatesMongoOptions>>().Value;
            return string.IsNullOrEmpty(mongo.ConnectionString)
                ? new EmptyPermissionStore()
                : new MongoDashboardPermissionStore(MongoOptionsSetup.OpenCollection(mongo), mongo.CacheDuration, sp.GetRequiredService<TimeProvider>());
        });

        // With a member source from the host, access follows the bot's dashboard permission model; without one,
        // the guilds listed in the token.
        services.TryAddSingleton<IGuildAccessPolicy>(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;
            return sp.GetService<IGuildMemberSource>() is { } members
                ? new DashboardAccessPolicy(members, sp.GetRequiredService<IDashboardPermissionStore>(), options)
                : new TokenClaimGuildAccessPolicy(options);
        });
        services.TryAddSingleton(static sp => new WebSocketManager(
            sp.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value,
            sp.GetRequiredService<ITokenValidator>(),
            sp.GetRequiredService<IGuildAccessPolicy>(),
            sp.GetService<IBroker>(),
            sp.GetService<ILoggerFactory>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetService<IMeterFactory>()));
        services.TryAddSingleton<IBroadcaster>(static sp => sp.GetRequiredService<WebSocketManager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LiveUpdatesHostedService>());
    }
}
