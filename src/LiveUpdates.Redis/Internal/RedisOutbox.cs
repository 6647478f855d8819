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
/// was not executed goes back to the front of its guild's queue, in order; a batch whose outcome is unknown goes back
/// too and is sent again as it was (published once: its result key); a broadcast beyond <see cref="RedisBrokerOptions.OutboxCapacity"/> is dropped and its guild gets one gap
/// (consecutive drops share it). See <see cref="GuildOutbox"/>.
/// </remarks>
internal sealed partial class RedisOutbox
{
    private const int MaxBatchMessages = 64;
    private const int MaxBatchBytes = 256 * 1024;

    private readonly RedisKeys _keys;
    private readonly int _historyCapacity;
    private readonly long _maxAgeMs;
    private readonly long _metaKeepMs;
    private readonly int _capacity;
    private readonly TimeProvider _time;
    private readonly Func<string, Anchor?> _feedAnchor;
    private readonly Action<Exception> _topologyChanged;
    private readonly Counter<long> _publishFailures;
    private readonly LogThrottle _overflowLog;
    private readonly ILogger _logger;
    private readonly Action<string> _reportError;
    private readonly object _gate = new();
    private readonly Dictionary<string, GuildOutbox> _outboxes = new(StringComparer.Ordinal);
    private int _count;
    private readonly PubSubMode _mode;
    private volatile Func<string, bool>? _heldGuilds;
    private ConnectionMultiplexer? _connection;
    private IDatabase? _database;
    private volatile bool _held;

    /// <summary>Creates the outbox; it publishes once <see cref="Start"/> gave it the connection.</summary>
    /// <param name="keys">The guilds' key names.</param>
    /// <param name="historyCapacity">The stream's length bound (<c>MAXLEN</c>).</param>
    /// <param name="maxAgeMs">The stream's expiry after a publish, in milliseconds (a batch's result key's too).</param>
    /// <param name="metaKeepMs">The metadata's expiry after a publish, in milliseconds.</param>
    /// <param name="capacity">How many publications may wait (<see cref="RedisBrokerOptions.OutboxCapacity"/>).</param>
    /// <param name="publishFailures">The broker's counter of publications not published at once.</param>
    /// <param name="time">The clock of the once-a-second overflow log.</param>
    /// <param name="logger">The broker's logger.</param>
    /// <param name="reportError">Tells the broker the latest Redis error (its health shows it).</param>
    /// <param name="feedAnchor">What this instance delivered of a guild (its feed's anchor), if it follows the guild.</param>
    /// <param name="topologyChanged">Tells the broker a node answered that it is not a writable primary (the outbox is held by then).</param>
    /// <param name="mode">Whether the channel messages are sharded (which publish script runs).</param>
    public RedisOutbox(RedisKeys keys, int historyCapacity, long maxAgeMs, long metaKeepMs, int capacity, Counter<long> publishFailures, TimeProvider time, ILogger logger, Action<string> reportError, Func<string, Anchor?> feedAnchor, Action<Exception> topologyChanged, PubSubMode mode)
    {
        _keys = keys;
        _mode = mode;
        _historyCapacity = historyCapacity;
        _maxAgeMs = maxAgeMs;
        _metaKeepMs = metaKeepMs;
        _capacity = capacity;
        _time = time;
        _feedAnchor = feedAnchor;
        _topologyChanged = topologyChanged;
        _publishFailures = publishFailures;
        _overflowLog = new LogThrottle(time);
        _logger = logger;
        _reportError = reportError;
    }

    /// <summary>Gets how many publications wait (gaps the outbox added included).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Gets a value indicating whether publishing is held, for every guild or some (see <see cref="Hold()"/>).</summary>
    public bool Held => _held || _heldGuilds is not null;

    /// <summary>
    /// Holds publishing (publications queue) until <see cref="Resume"/>: the connection was lost or the topology
    /// changed, and the broker first checks every followed guild's stream against what was delivered, and that a
    /// writable primary answers.
    /// </summary>
    public void Hold() => _held = true;

    /// <summary>
    /// Holds publishing for the guilds <paramref name="guilds"/> selects only (a Redis Cluster node failed or came back:
    /// the guilds whose slots it serves), until <see cref="Resume"/>; the other guilds keep publishing.
    /// </summary>
    /// <param name="guilds">Whether a guild is held; called under the outbox's lock, on any thread (it must not call back into the outbox).</param>
    public void Hold(Func<string, bool> guilds)
    {
        lock (_gate)
        {
            var previous = _heldGuilds;
            _heldGuilds = previous is null ? guilds : g => previous(g) || guilds(g);
        }
    }

    /// <summary>Ends a <see cref="Hold()"/> (and every <see cref="Hold(Func{string, bool})"/>) and starts sending what waits.</summary>
    public void Resume()
    {
        _heldGuilds = null;
        _held = false;
        Kick();
    }

    /// <summary>Waiting publications per guild (for the log of what a stop could not publish).</summary>
    public List<(string GuildId, int Count)> WaitingByGuild()
    {
        lock (_gate)
        {
            return [.. _outboxes.Values.Where(o => o.Queue.Count > 0).Select(o => (o.GuildId, o.Queue.Count))];
        }
    }

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
            if (outbox.InFlight || outbox.Blocked || IsHeld(outbox.GuildId))
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
        if (_held || _connection?.IsConnected != true)
        {
            return;
        }

        List<GuildOutbox>? start = null;
        lock (_gate)
        {
            foreach (var outbox in _outboxes.Values)
            {
                if (!outbox.InFlight && outbox.Queue.Count == 0 && _time.GetElapsedTime(outbox.LastAckAt).TotalMilliseconds > _maxAgeMs)
                {
                    _outboxes.Remove(outbox.GuildId); // idle: its anchor is older than the stream's lifetime
                    continue;
                }

                if (!outbox.InFlight && outbox.Queue.Count > 0 && !IsHeld(outbox.GuildId))
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

    private bool IsHeld(string guildId) => _held || _heldGuilds?.Invoke(guildId) == true;

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
                    outbox.InFlight = false; // kept for its anchor; Kick forgets it once idle long enough
                    return;
                }

                if (IsHeld(outbox.GuildId) || _connection?.IsConnected != true)
                {
                    outbox.InFlight = false;
                    outbox.Blocked = true; // the retry timer, or the reconnect, starts it again
                    return;
                }

                // A batch whose outcome was unknown is sent again exactly as it was (same entries, same identities):
                // the script finds its result key if it ran, so it is published once either way.
                var retry = outbox.UnknownBatch;
                while (outbox.Queue.First is { } node && (retry > 0
                    ? batch.Count < retry
                    : batch.Count < MaxBatchMessages && (batch.Count == 0 || bytes + node.Value.Message.Data.Length <= MaxBatchBytes)))
                {
                    bytes += node.Value.Message.Data.Length;
                    batch.Add(node.Value);
                    outbox.Queue.RemoveFirst();
                }
            }

            StreamPosition last;
            try
            {
                var result = await _database!.ScriptEvaluateAsync(_mode.PublishScript(_connection!), [outbox.MetaKey, outbox.StreamKey, _keys.Batch(outbox.GuildId, batch[0].Id)], ArgumentsOf(outbox, batch)).ConfigureAwait(false);
                var parts = (RedisResult[])result!;
                last = new StreamPosition((long)parts[1], (string)parts[0]!);
                if ((long)parts[2] != 0)
                {
                    Log.StreamRotated(_logger, outbox.GuildId, last.Epoch);
                }
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or InvalidCastException)
            {
                Failed(outbox, batch, ex);
                return;
            }

            lock (_gate)
            {
                _count -= batch.Count;
                outbox.UnknownBatch = 0;
                outbox.LastAck = new Anchor(last, batch[^1].Id);
                outbox.LastAckAt = _time.GetTimestamp();
            }

            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Completion.TrySetResult(last with { Seq = last.Seq - batch.Count + 1 + i });
            }
        }
    }

    private RedisValue[] ArgumentsOf(GuildOutbox outbox, List<PendingPublication> batch)
    {
        var args = new RedisValue[8 + (4 * batch.Count)];
        args[0] = RedisScripts.NewEpoch();
        args[1] = _maxAgeMs;
        args[2] = _metaKeepMs;
        args[3] = outbox.Channel;

        // The anchor: the latest publication of the guild this instance knows Redis acknowledged (its own last batch,
        // or what its feed delivered): if Redis lost it, the script starts a new epoch instead of numbering again.
        Anchor? anchor;
        lock (_gate)
        {
            anchor = outbox.LastAck;
        }

        Anchor.Write(Anchor.Latest(anchor, _feedAnchor(outbox.GuildId)), _historyCapacity, args.AsSpan(4));
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i].Message;
            args[8 + (4 * i)] = message.EventName ?? string.Empty;
            args[9 + (4 * i)] = message.Data;
            args[10 + (4 * i)] = message.Timestamp;
            args[11 + (4 * i)] = batch[i].Id;
        }

        return args;
    }

    /// <summary>
    /// A batch failed. Not executed (never sent, or refused before any write: <see cref="RedisErrors"/>): it goes back
    /// to the front, to be sent again in order. Outcome unknown (sent, then a timeout or a dropped connection): it goes
    /// back to the front too, to be sent again as it was; the script recognises it by its result key if it ran. Only a
    /// batch still unsettled when its result key would have expired is replaced by a gap (its subscribers refetch).
    /// </summary>
    private void Failed(GuildOutbox outbox, List<PendingPublication> batch, Exception ex)
    {
        var outcome = RedisErrors.Classify(ex);
        _reportError(ex.Message);
        if (outcome == CommandOutcome.NotExecutedTopology)
        {
            _held = true; // until a writable primary answers (the broker re-reads the roles now)
        }

        var giveUp = false;
        lock (_gate)
        {
            if (outcome == CommandOutcome.Unknown || outbox.UnknownBatch > 0)
            {
                // Once unknown, a batch stays the same batch until settled, whatever its later attempts answer.
                outbox.UnknownSince ??= _time.GetTimestamp();
                giveUp = _time.GetElapsedTime(outbox.UnknownSince.Value).TotalMilliseconds >= _maxAgeMs / 2;
            }

            if (giveUp)
            {
                _count -= batch.Count - 1;
                outbox.UnknownBatch = 0;
                outbox.UnknownSince = null;
                outbox.Queue.AddFirst(new PendingPublication(BrokerMessage.Gap(outbox.GuildId, batch[0].Message.Timestamp), external: false));
            }
            else
            {
                for (var i = batch.Count - 1; i >= 0; i--)
                {
                    outbox.Queue.AddFirst(batch[i]);
                }

                if (outcome == CommandOutcome.Unknown)
                {
                    outbox.UnknownBatch = batch.Count;
                }
            }

            outbox.InFlight = false;
            outbox.Blocked = true;
        }

        _publishFailures.Add(batch.Count, new KeyValuePair<string, object?>("reason", giveUp ? "unknown" : outcome == CommandOutcome.Unknown ? "retried" : "unreachable"));
        if (outcome == CommandOutcome.NotExecutedTopology)
        {
            _topologyChanged(ex);
        }

        if (!giveUp)
        {
            Log.PublishDeferred(_logger, batch.Count, outbox.GuildId, ex.Message);
            return;
        }

        Log.PublishOutcomeUnknown(_logger, ex, batch.Count, outbox.GuildId);
        foreach (var pending in batch)
        {
            pending.Fail(new RedisPublishException($"Publishing to Redis failed with an outcome still unknown after retries; guild {outbox.GuildId} got a gap instead.", ex));
        }
    }

    // The broker's logger and event ids (5-7, 15): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(5, LogLevel.Warning, "{Count} publication(s) of guild {GuildId} could not be sent to Redis ({Message}); kept in the outbox and retried in order")]
        public static partial void PublishDeferred(ILogger logger, int count, string guildId, string message);

        [LoggerMessage(6, LogLevel.Warning, "Publishing {Count} publication(s) of guild {GuildId} had an unknown outcome that retries could not settle; a gap is published instead, so the guild's subscribers refetch")]
        public static partial void PublishOutcomeUnknown(ILogger logger, Exception exception, int count, string guildId);

        [LoggerMessage(7, LogLevel.Error, "The Redis outbox is full ({Capacity}): {Dropped} broadcast(s) dropped since the last report, the latest for guild {GuildId}; their guilds get a gap, so subscribers refetch")]
        public static partial void OutboxFull(ILogger logger, int capacity, long dropped, string guildId);

        [LoggerMessage(15, LogLevel.Warning, "Guild {GuildId}'s stream in Redis contradicts a publication this instance had published or delivered: Redis lost acknowledged writes (an older snapshot, a failover to a replica that lagged); new epoch {Epoch}, subscribers refetch")]
        public static partial void StreamRotated(ILogger logger, string guildId, string epoch);
    }
}
