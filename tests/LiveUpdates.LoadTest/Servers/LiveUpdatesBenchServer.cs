using System.Diagnostics.Metrics;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>The library under test, configured for a load run: limits raised, idle check off (the generator does not ping).</summary>
internal sealed class LiveUpdatesBenchServer : IBenchServer
{
    private readonly MeterListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private WebSocketManager? _manager;

    public string Name => "liveupdates";

    public int ConnectionCount => _manager?.ConnectionCount ?? 0;

    public IReadOnlyDictionary<string, long> Counters => _counters;

    public async Task StartAsync(int port, string secret)
    {
        var options = new LiveUpdatesOptions
        {
            Host = "127.0.0.1",
            Port = port,
            AuthSecret = secret,
            IdleTimeout = Timeout.InfiniteTimeSpan,
            MaxConnections = 20_000,
            MaxConnectionsPerAddress = 20_000,
            MaxSubscriptionChangesPerSecond = 100,
        };

        // Only the rare instruments are listened to, so the per-delivery counter stays on its no-listener fast path.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "LiveUpdates" && instrument.Name is "liveupdates.events.dropped" or "liveupdates.disconnects" or "liveupdates.events.coalesced")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += ":" + tag.Value;
            }

            _counters.AddOrUpdate(key, value, (_, v) => v + value);
        });
        _listener.Start();

        _manager = new WebSocketManager(options);
        await _manager.StartAsync();
    }

    public void Broadcast(string guildId, string eventName, object data) => _manager!.Broadcast(guildId, eventName, data);

    public async ValueTask DisposeAsync()
    {
        if (_manager is not null)
        {
            await _manager.DisposeAsync();
        }

        _listener.Dispose();
    }
}
