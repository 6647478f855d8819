using System.Diagnostics.Metrics;
using LiveUpdates.Brokers;
using LiveUpdates.Internal;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// The Redis broker's publishing side, which owns every guild's publications waiting for Redis and publishes them in
/// batches with one batch in flight per guild; thread-safe: called from the dispatch loop (publish), the broker's timer,
/// StackExchange.Redis's connection events and completions (retries), guarded by its own lock.
/// </summary>
/// <remarks>
/// A batch is up to 64 events of one guild sent as one publish script (<see cref="RedisScripts.Publish"/>). A batch that
/// was never sent goes back to the front of its guild's queue, in order; a batch whose outcome is unknown becomes one
/// gap; a broadcast beyond <see cref="RedisBrokerOptions.OutboxCapacity"/> is dropped and its guild gets one gap
/// (consecutive drops share it). See <see cref="GuildOutbox"/>.
/// </remarks>
internal sealed partial class RedisOutbox
{
    private const int MaxBatchMessages = 64;
    private const int MaxBatchBytes = 256 * 1024;

    private readonly RedisKeys _keys;
    private readonly int _historyCapacity;
    private readonly long _maxAgeMs;
    private readonly int _capacity;
    private readonly Counter<long> _publishFailures;
    private readonly LogThrottle _overflowLog;
    private readonly ILogger _logger;
    private readonly Action<string> _reportError;
    private readonly object _gate = new();
    private readonly Dictionary<string, GuildOutbox> _outboxes = new(StringComparer.Ordinal);
    private int _count;
    private ConnectionMultiplexer? _connection;
    private IDatabase? _database;

    /// <summary>Creates the outbox; it publishes once <see cref="Start"/> gave it the connection.</summary>
    /// <param name="keys">The guilds' key names.</param>
    /// <param name="historyCapacity">The stream's length bound (<c>MAXLEN</c>).</param>
    /// <param name="maxAgeMs">The keys' expiry after a publish, in milliseconds.</param>
    /// <param name="capacity">How many publications may wait (<see cref="RedisBrokerOptions.OutboxCapacity"/>).</param>
    /// <param name="publishFailures">The broker's counter of publications not published at once.</param>
    /// <param name="time">The clock of the once-a-second overflow log.</param>
    /// <param name="logger">The broker's logger.</param>
    /// <param name="reportError">Tells the broker the latest Redis error (its health shows it).</param>
    public RedisOutbox(RedisKeys keys, int historyCapacity, long maxAgeMs, int capacity, Counter<long> publishFailures, TimeProvider time, ILogger logger, Action<string> reportError)
    {
        _keys = keys;
        _historyCapacity = historyCapacity;
        _maxAgeMs = maxAgeMs;
        _capacity = capacity;
        _publishFailures = publishFailures;
        _overflowLog = new LogThrottle(time);
        _logger = logger;
        _reportError = reportError;
    }

    /// <summary>Gets how many publications wait (gaps the outbox added included).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Publishes through <paramref name="connection"/> from now on; until then publications wait.</summary>
    public void Start(ConnectionMultiplexer connection)
    {
        _database = connection.GetDatabase(); // first: a send that sees the connection uses the database
        _connection = connection;
    }

    /// <summary>Queues a publication behind its guild's; its position once Redis numbered it, or the error if it was dropped or lost.</summary>
    public ValueTask<StreamPosition> PublishAsync(BrokerMessage message)
    {
        var pending = new PendingPublication(message, external: true);
        GuildOutbox outbox;
        lock (_gate)
        {
            outbox = GetOutboxLocked(message.GuildId);
            if (!message.IsGap && _count >= _capacity)
            {
                // Full: this broadcast is lost, and recorded as one gap after what waits, so its subscribers refetch.
                if (!outbox.EndsWithGap)
                {
                    outbox.Queue.AddLast(new PendingPublication(BrokerMessage.Gap(message.GuildId, message.Timestamp), external: false));
                    _count++;
                }

                if (_overflowLog.Count(out var dropped))
                {
                    Log.OutboxFull(_logger, _capacity, dropped, message.GuildId);
                }

                _publishFailures.Add(1, new KeyValuePair<string, object?>("reason", "outbox_full"));
                return ValueTask.FromException<StreamPosition>(new RedisPublishException(
                    $"The Redis outbox is full ({_capacity} publications waiting): the broadcast was dropped and guild {message.GuildId} got a gap."));
            }

            outbox.Queue.AddLast(pending);
            _count++;
            if (outbox.InFlight || outbox.Blocked)
            {
                return new ValueTask<StreamPosition>(pending.Completion.Task);
            }

            outbox.InFlight = true;
        }

        // Issued synchronously up to the first await: the dispatch loop's order is the order the commands are written.
        _ = SendAsync(outbox);
        return new ValueTask<StreamPosition>(pending.Completion.Task);
    }

    /// <summary>Starts sending every guild whose publications wait and that has no batch in flight, if Redis is connected (the retry).</summary>
    public void Kick()
    {
        if (_connection?.IsConnected != true)
        {
            return;
        }

        List<GuildOutbox>? start = null;
        lock (_gate)
        {
            foreach (var outbox in _outboxes.Values)
            {
                if (!outbox.InFlight && outbox.Queue.Count > 0)
                {
                    outbox.Blocked = false;
                    outbox.InFlight = true;
                    (start ??= []).Add(outbox);
                }
            }
        }

        if (start is not null)
        {
            foreach (var outbox in start)
            {
                _ = SendAsync(outbox);
            }
        }
    }

    /// <summary>Publishes what waits while Redis is connected, for at most <paramref name="timeout"/> (the broker is stopping).</summary>
    public async Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(timeout);
            while (Count > 0 && _connection?.IsConnected == true)
            {
                Kick();
                await Task.Delay(10, bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private GuildOutbox GetOutboxLocked(string guildId)
    {
        if (!_outboxes.TryGetValue(guildId, out var outbox))
        {
            outbox = new GuildOutbox(guildId, _keys.Meta(guildId), _keys.Stream(guildId), _keys.Channel(guildId));
            _outboxes.Add(guildId, outbox);
        }

        return outbox;
    }

    /// <summary>Publishes a guild's waiting publications, one script (a batch, in order) at a time, until none waits or Redis fails.</summary>
    private async Task SendAsync(GuildOutbox outbox)
    {
        var batch = new List<PendingPublication>();
        while (true)
        {
            batch.Clear();
            var bytes = 0;
            lock (_gate)
            {
                if (outbox.Queue.Count == 0)
                {
                    outbox.InFlight = false;
                    _outboxes.Remove(outbox.GuildId); // nothing waits: the next broadcast to the guild makes a new one
                    return;
                }

                if (_connection?.IsConnected != true)
                {
                    outbox.InFlight = false;
                    outbox.Blocked = true; // the retry timer, or the reconnect, starts it again
                    return;
                }

                while (outbox.Queue.First is { } node && batch.Count < MaxBatchMessages && (batch.Count == 0 || bytes + node.Value.Message.Data.Length <= MaxBatchBytes))
                {
                    bytes += node.Value.Message.Data.Length;
                    batch.Add(node.Value);
                    outbox.Queue.RemoveFirst();
                }
            }

            StreamPosition last;
            try
            {
                var result = await _database!.ScriptEvaluateAsync(RedisScripts.Publish, [outbox.MetaKey, outbox.StreamKey], ArgumentsOf(outbox, batch)).ConfigureAwait(false);
                var parts = (RedisResult[])result!;
                last = new StreamPosition((long)parts[1], (string)parts[0]!);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or InvalidCastException)
            {
                Failed(outbox, batch, ex);
                return;
            }

            lock (_gate)
            {
                _count -= batch.Count;
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(last with { Seq = last.Seq - batch.Count + 1 + i });
            }
        }
    }

    private RedisValue[] ArgumentsOf(GuildOutbox outbox, List<PendingPublication> batch)
    {
        var args = new RedisValue[4 + (3 * batch.Count)];
        args[0] = _historyCapacity;
        args[1] = _maxAgeMs;
        args[2] = RedisScripts.NewEpoch();
        args[3] = outbox.Channel;
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i].Message;
            args[4 + (3 * i)] = message.EventName ?? string.Empty;
            args[5 + (3 * i)] = message.Data;
            args[6 + (3 * i)] = message.Timestamp;
        }

        return args;
    }

    /// <summary>
    /// A batch failed. Never sent: it goes back to the front, to be sent again in order once Redis answers. Sent with
    /// an unknown outcome (the script may or may not have run): it is replaced by one gap, so nobody recovers across it
    /// and the guild's subscribers refetch.
    /// </summary>
    private void Failed(GuildOutbox outbox, List<PendingPublication> batch, Exception ex)
    {
        var notSent = NeverSent(ex);
        _reportError(ex.Message);
        lock (_gate)
        {
            if (notSent)
            {
                for (var i = batch.Count - 1; i >= 0; i--)
                {
                    outbox.Queue.AddFirst(batch[i]);
                }
            }
            else
            {
                _count -= batch.Count - 1;
                outbox.Queue.AddFirst(new PendingPublication(BrokerMessage.Gap(outbox.GuildId, batch[0].Message.Timestamp), external: false));
            }

            outbox.InFlight = false;
            outbox.Blocked = true;
        }

        _publishFailures.Add(batch.Count, new KeyValuePair<string, object?>("reason", notSent ? "unreachable" : "unknown"));
        if (notSent)
        {
            Log.PublishDeferred(_logger, batch.Count, outbox.GuildId, ex.Message);
            return;
        }

        Log.PublishOutcomeUnknown(_logger, ex, batch.Count, outbox.GuildId);
        foreach (var pending in batch)
        {
            pending.Fail(new RedisPublishException($"Publishing to Redis failed with an unknown outcome; guild {outbox.GuildId} got a gap instead.", ex));
        }
    }

    private static bool NeverSent(Exception ex) => ex switch
    {
        RedisConnectionException c => c.CommandStatus is CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog ||
                                      c.FailureType is ConnectionFailureType.UnableToResolvePhysicalConnection or ConnectionFailureType.UnableToConnect,
        RedisTimeoutException t => t.Commandstatus is CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog,
        _ => false,
    };

    // The broker's logger and event ids (5-7): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(5, LogLevel.Warning, "{Count} publication(s) of guild {GuildId} could not be sent to Redis ({Message}); kept in the outbox and retried in order")]
        public static partial void PublishDeferred(ILogger logger, int count, string guildId, string message);

        [LoggerMessage(6, LogLevel.Warning, "Publishing {Count} publication(s) of guild {GuildId} had an unknown outcome; a gap is published instead, so the guild's subscribers refetch")]
        public static partial void PublishOutcomeUnknown(ILogger logger, Exception exception, int count, string guildId);

        [LoggerMessage(7, LogLevel.Error, "The Redis outbox is full ({Capacity}): {Dropped} broadcast(s) dropped since the last report, the latest for guild {GuildId}; their guilds get a gap, so subscribers refetch")]
        public static partial void OutboxFull(ILogger logger, int capacity, long dropped, string guildId);
    }
}
