using System.Diagnostics.Metrics;

namespace LiveUpdates.Internal;

/// <summary>
/// The server's instruments (meter <c>LiveUpdates</c>), one meter per <see cref="WebSocketManager"/>. Names and
/// tags are listed in docs/operations.md.
/// </summary>
internal sealed class LiveUpdatesMetrics : IDisposable
{
    public const string MeterName = "LiveUpdates";

    /// <param name="sendQueueDepth">Reads the send queues' depth for the gauges.</param>
    /// <param name="meterFactory">The host's meter factory (the meter is then the host's to dispose), or <see langword="null"/> for a meter of our own.</param>
    public LiveUpdatesMetrics(Func<(long Total, long Max)> sendQueueDepth, IMeterFactory? meterFactory = null)
    {
        var version = typeof(LiveUpdatesMetrics).Assembly.GetName().Version?.ToString();
        _ownsMeter = meterFactory is null;
        Meter = meterFactory?.Create(MeterName, version) ?? new Meter(MeterName, version);
        Connections = Meter.CreateUpDownCounter<long>("liveupdates.connections", "{connection}", "Open WebSocket connections.");
        Subscriptions = Meter.CreateUpDownCounter<long>("liveupdates.subscriptions", "{subscription}", "Guild subscriptions of open connections.");
        EventsBroadcast = Meter.CreateCounter<long>("liveupdates.events.broadcast", "{event}", "Broadcasts accepted by IBroadcaster.");
        EventsDropped = Meter.CreateCounter<long>("liveupdates.events.dropped", "{event}", "Broadcasts dropped because the dispatch queue was full.");
        EventsDelivered = Meter.CreateCounter<long>("liveupdates.events.delivered", "{event}", "Event frames written to client sockets.");
        EventsCoalesced = Meter.CreateCounter<long>("liveupdates.events.coalesced", "{event}", "Queued latest-value events replaced by a newer one.");
        Disconnects = Meter.CreateCounter<long>("liveupdates.disconnects", "{connection}", "Connections ended, by reason.");
        AuthFailures = Meter.CreateCounter<long>("liveupdates.auth.failures", "{attempt}", "Refused auth messages, by error code.");
        DeliveryLatency = Meter.CreateHistogram<double>("liveupdates.delivery.latency", "ms", "From Broadcast() to the event frame written to the client's socket.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] });
        ConnectionDuration = Meter.CreateHistogram<double>("liveupdates.connection.duration", "s", "How long connections stayed open, by end reason.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 10, 60, 300, 900, 3600, 14400, 86400] });
        Recoveries = Meter.CreateCounter<long>("liveupdates.recoveries", "{subscription}", "Subscriptions that asked to recover, by outcome.");
        Meter.CreateObservableGauge("liveupdates.send_queue.depth", () => sendQueueDepth().Total, "{message}", "Messages waiting in all clients' send queues.");
        Meter.CreateObservableGauge("liveupdates.send_queue.max_depth", () => sendQueueDepth().Max, "{message}", "Messages waiting in the fullest client send queue.");
    }

    private readonly bool _ownsMeter;

    public Meter Meter { get; }

    public UpDownCounter<long> Connections { get; }

    public UpDownCounter<long> Subscriptions { get; }

    public Counter<long> EventsBroadcast { get; }

    public Counter<long> EventsDropped { get; }

    public Counter<long> EventsDelivered { get; }

    public Counter<long> EventsCoalesced { get; }

    public Counter<long> Disconnects { get; }

    public Counter<long> AuthFailures { get; }

    public Counter<long> Recoveries { get; }

    public Histogram<double> DeliveryLatency { get; }

    public Histogram<double> ConnectionDuration { get; }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }
}
