using LiveUpdates;
using System.Diagnostics.Metrics;
using LiveUpdates.Brokers;
using LiveUpdates.Hosting.Internal;
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
/// model; optional parts, such as the MongoDB permission store, are added on the returned <see cref="ILiveUpdatesBuilder"/>.
/// </summary>
public static class LiveUpdatesServiceCollectionExtensions
{
    /// <summary>
    /// Adds the LiveUpdates WebSocket server. Settings come from the environment variables <c>WS_PORT</c>,
    /// <c>LIVEUPDATES_TOKEN_KEY</c>, <c>AUTH_SECRET</c> and <c>AUTH_SECRET_1</c>..<c>AUTH_SECRET_3</c>; they are validated when the host starts.
    /// Calling it more than once registers the services once.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>A builder on which optional parts are added.</returns>
    public static ILiveUpdatesBuilder AddLiveUpdates(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        AddCore(services);
        return new LiveUpdatesBuilder(services);
    }

    /// <summary>
    /// Adds the LiveUpdates WebSocket server. Settings come from the environment variables <c>WS_PORT</c>,
    /// <c>LIVEUPDATES_TOKEN_KEY</c>, <c>AUTH_SECRET</c> and <c>AUTH_SECRET_1</c>..<c>AUTH_SECRET_3</c>, then from <paramref name="configure"/>; they are validated when the host starts.
    /// Calling it more than once registers the services once (each call's <paramref name="configure"/> still applies).
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Sets options in code; runs after the environment variables, so code wins.</param>
    /// <returns>A builder on which optional parts are added.</returns>
    public static ILiveUpdatesBuilder AddLiveUpdates(this IServiceCollection services, Action<LiveUpdatesOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddLiveUpdates();
        services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Adds the LiveUpdates WebSocket server with settings bound from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("LiveUpdates")</c>); the environment variables <c>WS_PORT</c>,
    /// <c>LIVEUPDATES_TOKEN_KEY</c> and <c>AUTH_SECRET</c> override it.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section holding <see cref="LiveUpdatesOptions"/> keys such as <c>Port</c> and <c>ConnectionTokenKey</c>.</param>
    /// <returns>A builder on which optional parts are added.</returns>
    public static ILiveUpdatesBuilder AddLiveUpdates(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        // Bound before the environment set-up is registered, so WS_PORT / LIVEUPDATES_TOKEN_KEY / AUTH_SECRET override the section.
        services.AddOptions<LiveUpdatesOptions>().Bind(configuration);

        // What the binder lets through silently (typos, a value where a list belongs, "60" as a time span) fails start-up.
        // One validator per section, however often the same section is added.
        var path = (configuration as IConfigurationSection)?.Path;
        if (!services.Any(d => d.ImplementationInstance is ConfigurationShapeValidator v && (ReferenceEquals(v.Configuration, configuration) || (path is not null && (v.Configuration as IConfigurationSection)?.Path == path))))
        {
            services.AddSingleton<IValidateOptions<LiveUpdatesOptions>>(new ConfigurationShapeValidator(configuration));
        }

        return services.AddLiveUpdates();
    }

    /// <summary>
    /// Adds the LiveUpdates WebSocket server with settings bound from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("LiveUpdates")</c>); the environment variables <c>WS_PORT</c>,
    /// <c>LIVEUPDATES_TOKEN_KEY</c> and <c>AUTH_SECRET</c> override it, and <paramref name="configure"/> overrides both.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The configuration section holding <see cref="LiveUpdatesOptions"/> keys such as <c>Port</c> and <c>ConnectionTokenKey</c>.</param>
    /// <param name="configure">Sets options in code, last.</param>
    /// <returns>A builder on which optional parts are added.</returns>
    public static ILiveUpdatesBuilder AddLiveUpdates(this IServiceCollection services, IConfiguration configuration, Action<LiveUpdatesOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var builder = services.AddLiveUpdates(configuration);
        services.Configure(configure);
        return builder;
    }

    private static void AddCore(IServiceCollection services)
    {
        services.AddOptions<LiveUpdatesOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LiveUpdatesOptions>, EnvironmentOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LiveUpdatesOptions>, EnvironmentOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LiveUpdatesOptions>, LiveUpdatesOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);

        // The one place the server is built. Seams the host did not register are passed as null, and the manager
        // uses its built-in ones: the session token validator, the token's guild list, in-process delivery.
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;
            return new WebSocketManager(
                options,
                sp.GetService<ITokenValidator>(),
                GetAccessPolicy(sp, options),
                sp.GetService<IBroker>(),
                sp.GetService<ILoggerFactory>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetService<IMeterFactory>());
        });
        services.TryAddSingleton<IBroadcaster>(static sp => sp.GetRequiredService<WebSocketManager>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LiveUpdatesHostedService>());
    }

    /// <summary>
    /// The host's own <see cref="IGuildAccessPolicy"/>; else, with a member source from the host, the bot's dashboard
    /// permission model over the registered <see cref="IDashboardPermissionStore"/> (if any); else <see langword="null"/>
    /// (the manager's built-in policy: the guilds listed in the token).
    /// </summary>
    /// <exception cref="InvalidOperationException">A permission store is registered without a member source: its documents would never be read.</exception>
    internal static IGuildAccessPolicy? GetAccessPolicy(IServiceProvider services, LiveUpdatesOptions options)
    {
        if (services.GetService<IGuildAccessPolicy>() is { } policy)
        {
            return policy;
        }

        var store = services.GetService<IDashboardPermissionStore>();
        if (services.GetService<IGuildMemberSource>() is { } members)
        {
            return new DashboardAccessPolicy(members, store, options);
        }

        return store is null ? null : throw new InvalidOperationException(
            $"A dashboard permission store ({store.GetType().Name}, e.g. from .AddMongoPermissionStore()) is registered, but no IGuildMemberSource: " +
            "the dashboard permission model needs the bot's view of each member (roles, owner, administrator), and without it access would silently follow the token's 'guilds' claim and the store would never be read. " +
            "Register an IGuildMemberSource (services.AddSingleton<IGuildMemberSource, YourMemberSource>()), or remove the permission store.");
    }
}
