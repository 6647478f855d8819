using System.Collections.Concurrent;
using System.Net.WebSockets;

namespace LiveUpdates.Internal.Connections;

/// <summary>
/// The open connections of one server and the liveness sweep over them: one timer for every connection (auth, idle,
/// send and close timeouts, token expiry), never a timer or task per idle connection.
/// </summary>
internal sealed class ConnectionRegistry : IAsyncDisposable
{
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly TimeProvider _time;
    private ITimer? _timer;
    private int _sweeping;

    public ConnectionRegistry(TimeProvider time) => _time = time;

    public int Count => _connections.Count;

    public IReadOnlyCollection<ClientConnection> Snapshot() => [.. _connections.Values];

    public void Add(ClientConnection connection) => _connections[connection.Id] = connection;

    public void Remove(ClientConnection connection) => _connections.TryRemove(connection.Id, out _);

    /// <summary>Starts sweeping every <paramref name="interval"/>.</summary>
    public void StartSweeping(TimeSpan interval) =>
        _timer = _time.CreateTimer(static s => ((ConnectionRegistry)s!).Sweep(), this, interval, interval);

    /// <summary>Asks every connection to close with <paramref name="status"/>, after what it has queued when <paramref name="drainFirst"/>.</summary>
    public void CloseAll(WebSocketCloseStatus status, string reason, bool drainFirst)
    {
        foreach (var connection in _connections.Values)
        {
            connection.RequestClose(status, reason, drainFirst);
        }
    }

    /// <summary>Aborts every connection still open; returns how many there were.</summary>
    public int AbortAll()
    {
        var aborted = 0;
        foreach (var connection in _connections.Values)
        {
            aborted++;
            connection.Abort();
        }

        return aborted;
    }

    /// <summary>Completes when every connection open now has been cleaned up.</summary>
    public Task WhenAllClosed() => Task.WhenAll(_connections.Values.Select(c => c.Completion));

    /// <summary>Messages waiting in all send queues, and in the fullest one (for the metrics).</summary>
    public (long Total, long Max) SendQueueDepth()
    {
        long total = 0, max = 0;
        foreach (var connection in _connections.Values)
        {
            long queued = connection.QueuedMessages;
            total += queued;
            max = Math.Max(max, queued);
        }

        return (total, max);
    }

    public async ValueTask DisposeAsync()
    {
        if (_timer is not null)
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Sweep()
    {
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            var now = _time.GetTimestamp();
            var utcNow = _time.GetUtcNow();
            foreach (var connection in _connections.Values)
            {
                connection.CheckLiveness(now, utcNow);
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }
}
