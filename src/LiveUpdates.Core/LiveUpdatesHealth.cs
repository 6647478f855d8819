namespace LiveUpdates;

/// <summary>How well the server is delivering: the overall verdict of a <see cref="LiveUpdatesHealth"/> report.</summary>
public enum LiveUpdatesHealthStatus
{
    /// <summary>Listening, and broadcasts are being delivered without lag.</summary>
    Healthy,

    /// <summary>Delivering, but behind (the dispatch loop lags) or a dependency (broker, permission store) is down.</summary>
    Degraded,

    /// <summary>Not delivering: not running, not listening, or the dispatch loop has stopped making progress.</summary>
    Unhealthy,
}

/// <summary>
/// A snapshot of whether the server is really delivering (from <see cref="WebSocketManager.GetHealth"/>): the
/// listener, the dispatch loop and its lag, and the broker when it reports its own health.
/// </summary>
public sealed class LiveUpdatesHealth
{
    internal LiveUpdatesHealth(LiveUpdatesHealthStatus status, string description, bool isListening, int connections, int dispatchQueueLength, TimeSpan dispatchLag, DependencyHealth? broker, DependencyHealth? accessPolicy)
    {
        Status = status;
        Description = description;
        IsListening = isListening;
        Connections = connections;
        DispatchQueueLength = dispatchQueueLength;
        DispatchLag = dispatchLag;
        Broker = broker;
        AccessPolicy = accessPolicy;
    }

    /// <summary>Gets the overall verdict.</summary>
    public LiveUpdatesHealthStatus Status { get; }

    /// <summary>Gets a one-line explanation of the verdict, naming what is wrong.</summary>
    public string Description { get; }

    /// <summary>Gets a value indicating whether the server is running and its listener accepts connections.</summary>
    public bool IsListening { get; }

    /// <summary>Gets the number of open connections.</summary>
    public int Connections { get; }

    /// <summary>Gets how many items (broadcasts, subscriptions, re-checks) wait for the dispatch loop.</summary>
    public int DispatchQueueLength { get; }

    /// <summary>Gets how long work has been waiting without the dispatch loop making progress (zero when nothing waits).</summary>
    public TimeSpan DispatchLag { get; }

    /// <summary>Gets the broker's own report, when the broker gives one (see <see cref="IDependencyHealth"/>).</summary>
    public DependencyHealth? Broker { get; }

    /// <summary>Gets the access policy's report on the store it reads (e.g. MongoDB), when it gives one.</summary>
    public DependencyHealth? AccessPolicy { get; }
}
