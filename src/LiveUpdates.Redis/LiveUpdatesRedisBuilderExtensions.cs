using System.Diagnostics.Metrics;
using LiveUpdates;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Redis.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Adds the Redis broker to LiveUpdates: <c>services.AddLiveUpdates(…).AddRedis()</c>. Every process of the bot that
/// adds it with the same Redis and <see cref="RedisBrokerOptions.KeyPrefix"/> shares every guild's stream: a dashboard
/// connected to any of them receives the broadcasts of all of them, and recovers on any of them.
/// </summary>
/// <remarks>
/// Settings, lowest precedence first: the defaults (history bounds from <see cref="LiveUpdatesOptions"/>), a
/// configuration section, the environment variable <c>REDIS_URL</c>, then code. They are validated when the host
/// starts: without a server, or with a malformed configuration string, start-up fails with a message naming the
/// setting. A Redis that is unreachable does not fail start-up: the broker keeps trying (see docs/scale-out.md).
/// Adding it more than once registers it once; an <see cref="IBroker"/> the host registers itself wins.
/// </remarks>
public static class LiveUpdatesRedisBuilderExtensions
{
    /// <summary>Adds the Redis broker, configured by the environment variable <c>REDIS_URL</c> (required unless set otherwise).</summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddRedis(this ILiveUpdatesBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<RedisBrokerOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<RedisBrokerOptions>, RedisOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<RedisBrokerOptions>, RedisOptionsSetup>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RedisBrokerOptions>, RedisOptionsSetup>());
        services.TryAddSingleton<IBroker>(static sp => new RedisBroker(
            sp.GetRequiredService<IOptions<RedisBrokerOptions>>().Value,
            sp.GetService<ILoggerFactory>(),
            sp.GetService<IMeterFactory>()));
        return builder;
    }

    /// <summary>Adds the Redis broker connecting to <paramref name="configuration"/>, which wins over <c>REDIS_URL</c>.</summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <param name="configuration">A StackExchange.Redis configuration string or a <c>redis://</c> URL, e.g. <c>localhost:6379</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddRedis(this ILiveUpdatesBuilder builder, string configuration)
    {
        ArgumentException.ThrowIfNullOrEmpty(configuration);
        return builder.AddRedis(o => o.Configuration = configuration);
    }

    /// <summary>Adds the Redis broker with settings in code, applied after <c>REDIS_URL</c>.</summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <param name="configure">Sets the broker's options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddRedis(this ILiveUpdatesBuilder builder, Action<RedisBrokerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.AddRedis();
        builder.Services.Configure(configure);
        return builder;
    }

    /// <summary>
    /// Adds the Redis broker with settings bound from <paramref name="configuration"/> (usually
    /// <c>builder.Configuration.GetSection("LiveUpdates:Redis")</c>, keys <c>Configuration</c>, <c>KeyPrefix</c>,
    /// <c>OutboxCapacity</c>, <c>PositionCheckInterval</c>, …); <c>REDIS_URL</c> overrides it.
    /// </summary>
    /// <param name="builder">The builder <c>AddLiveUpdates()</c> returned.</param>
    /// <param name="configuration">The configuration section holding <see cref="RedisBrokerOptions"/> keys.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddRedis(this ILiveUpdatesBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        builder.Services.AddOptions<RedisBrokerOptions>().Bind(configuration); // before the environment set-up: REDIS_URL overrides it
        return builder.AddRedis();
    }
}
