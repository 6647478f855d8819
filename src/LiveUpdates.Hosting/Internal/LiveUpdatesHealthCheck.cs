using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LiveUpdates.Hosting.Internal;

/// <summary>The health check over <see cref="WebSocketManager.GetHealth"/>, with its figures as data.</summary>
internal sealed class LiveUpdatesHealthCheck(WebSocketManager manager) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = manager.GetHealth();
        var data = new Dictionary<string, object>
        {
            ["listening"] = health.IsListening,
            ["connections"] = health.Connections,
            ["dispatchQueueLength"] = health.DispatchQueueLength,
            ["dispatchLagMs"] = (long)health.DispatchLag.TotalMilliseconds,
        };
        if (health.Broker is { } broker)
        {
            data["brokerConnected"] = broker.IsAvailable;
            data["broker"] = broker.Description;
        }

        if (health.AccessPolicy is { } store)
        {
            data["permissionStoreReachable"] = store.IsAvailable;
            data["permissionStore"] = store.Description;
        }

        var status = health.Status switch
        {
            LiveUpdatesHealthStatus.Healthy => HealthStatus.Healthy,
            LiveUpdatesHealthStatus.Degraded => HealthStatus.Degraded,
            _ => context.Registration.FailureStatus,
        };
        return Task.FromResult(new HealthCheckResult(status, health.Description, data: data));
    }
}
