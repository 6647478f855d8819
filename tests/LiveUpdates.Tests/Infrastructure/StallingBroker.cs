using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// The in-memory broker (inline delivery) with one switch: after <see cref="Stall"/>, the next publish blocks the thread
/// that calls it — the dispatch loop — until <see cref="Release"/>. A way to hold the loop itself (a full queue, a
/// stalled loop's health), now that permission re-checks no longer run on it.
/// </summary>
internal sealed class StallingBroker() : IBroker
{
    private readonly InMemoryBroker _inner = new(256, TimeSpan.FromMinutes(5), TimeProvider.System);
    private ManualResetEventSlim? _gate;
    private TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public BrokerCapabilities Capabilities => _inner.Capabilities;

    /// <summary>Completes when a publish is blocked by <see cref="Stall"/>.</summary>
    public Task Stalled => _stalled.Task;

    public void Stall()
    {
        _stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _gate, new ManualResetEventSlim(false));
    }

    public void Release() => Interlocked.Exchange(ref _gate, null)?.Set();

    public Task StartAsync(IBrokerHandler handler, CancellationToken cancellationToken) => _inner.StartAsync(handler, cancellationToken);

    public ValueTask<StreamPosition> PublishAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            _stalled.TrySetResult();
            gate.Wait(TimeSpan.FromSeconds(30), cancellationToken); // the loop itself waits: that is the point
        }

        return _inner.PublishAsync(message, cancellationToken);
    }

    public ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken) => _inner.ReadSinceAsync(guildId, since, cancellationToken);

    public ValueTask SubscribeAsync(string guildId, CancellationToken cancellationToken) => _inner.SubscribeAsync(guildId, cancellationToken);

    public ValueTask UnsubscribeAsync(string guildId, CancellationToken cancellationToken) => _inner.UnsubscribeAsync(guildId, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => _inner.StopAsync(cancellationToken);
}
