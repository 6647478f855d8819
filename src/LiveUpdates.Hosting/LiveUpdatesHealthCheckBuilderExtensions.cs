using LiveUpdates.Hosting.Internal;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Adds the LiveUpdates health check to the host's health checks.</summary>
public static class LiveUpdatesHealthCheckBuilderExtensions
{
    /// <summary>
    /// Registers a health check named <paramref name="name"/> (with <c>services.AddHealthChecks()</c>) that reports
    /// what <see cref="LiveUpdates.WebSocketManager.GetHealth"/> says: unhealthy when the server is not listening or its
    /// dispatch loop has stopped delivering, degraded when it lags or its broker is disconnected. Map it with
    /// <c>app.MapHealthChecks("/health")</c> in an ASP.NET Core host, or read it from <see cref="HealthCheckService"/>.
    /// </summary>
    /// <param name="builder">The LiveUpdates builder.</param>
    /// <param name="name">The check's name in the health report.</param>
    /// <returns>The builder, for chaining.</returns>
    public static ILiveUpdatesBuilder AddHealthCheck(this ILiveUpdatesBuilder builder, string name = "liveupdates")
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(name);
        builder.Services.AddHealthChecks().AddCheck<LiveUpdatesHealthCheck>(name, tags: ["liveupdates"]);
        return builder;
    }
}
