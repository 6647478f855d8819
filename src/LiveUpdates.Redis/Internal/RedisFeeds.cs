using System.Diagnostics.Metrics;
using LiveUpdates.Brokers;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// The Redis broker's subscribing side, which owns the set of guilds this instance follows (channel subscriptions,
/// reference-counted), the catch-up on subscribing and on history reads, and the position checks; thread-safe: called
/// from the dispatch loop, the broker's timer and StackExchange.Redis's connection events, the set guarded by its own
/// lock and each guild's reads and hand-overs by that guild's <see cref="GuildFeed.Gate"/>.
/// </summary>
/// <remarks>
/// What reaches the server, and in which order, is <see cref="FeedHandOver"/>'s. A feed is stale when publications may
/// have been missed (a failed command, a lost connection); stale feeds are re-checked every tick of the broker's timer,
/// all of them every <see cref="RedisBrokerOptions.PositionCheckInterval"/>.
/// </remarks>
internal sealed partial class RedisFeeds
{
    private const string UnavailableEpoch = "unavailable";

    private readonly RedisKeys _keys;
    private readonly long _maxAgeMs;
    private readonly TimeSpan _checkInterval;
    private readonly TimeSpan _tick;
    private readonly TimeProvider _time;
    private readonly FeedHandOver _handOver;
    private readonly ILogger _logger;
    private readonly Action<string> _reportError;
    private readonly object _gate = new();
    private readonly Dictionary<string, GuildFeed> _feeds = new(StringComparer.Ordinal);

    // Guild → its closed feed's channel unsubscription still in flight: a new feed of the guild subscribes after it,
    // so that an UNSUBSCRIBE sent for the old one can never land after the new one's SUBSCRIBE. The race is real in
    // StackExchange.Redis (RedisSubscriber.UnsubscribeAsync): the last queue's unsubscribe removes the channel's
    // Subscription from the multiplexer's table first, then writes UNSUBSCRIBE; a SubscribeAsync in between creates a
    // new Subscription (handlers are counted per Subscription object, not per channel) and writes SUBSCRIBE first, so
    // Redis ends unsubscribed while the new one believes it is subscribed (same for SSUBSCRIBE/SUNSUBSCRIBE). Reproduced
    // by RedisSubscribeRaceTests (fails without this).
    private readonly Dictionary<string, Task> _closing = new(StringComparer.Ordinal);
    private readonly PubSubMode _mode;
    private ConnectionMultiplexer? _connection;
    private ISubscriber? _subscriber;
    private long _lastCheckAt;
    private int _checking;
    private int _stopped;

    /// <summary>Creates the feeds; they follow guilds once <see cref="Start"/> gave them the connection.</summary>
    /// <param name="keys">The guilds' key names.</param>
    /// <param name="capacity">The stream's length bound.</param>
    /// <param name="maxAgeMs">The age bound of recovery, in milliseconds (also the stream's expiry after a publish).</param>
    /// <param name="metaKeepMs">The metadata's expiry, in milliseconds.</param>
    /// <param name="checkInterval">How often every feed's position is checked (<see cref="RedisBrokerOptions.PositionCheckInterval"/>).</param>
    /// <param name="tick">How often the broker's timer calls <see cref="CheckPositionsIfDue"/>.</param>
    /// <param name="streamGaps">The broker's counter of publications missing from what this instance received.</param>
    /// <param name="streamRotations">The broker's counter of new epochs started because Redis lost acknowledged writes.</param>
    /// <param name="time">The clock of the position checks.</param>
    /// <param name="logger">The broker's logger.</param>
    /// <param name="reportError">Tells the broker the latest Redis error (its health shows it).</param>
    /// <param name="mode">Whether the channels are sharded (decided on the first connection).</param>
    public RedisFeeds(RedisKeys keys, int capacity, long maxAgeMs, long metaKeepMs, TimeSpan checkInterval, TimeSpan tick, Counter<long> streamGaps, Counter<long> streamRotations, TimeProvider time, ILogger logger, Action<string> reportError, PubSubMode mode)
    {
        _keys = keys;
        _mode = mode;
        _maxAgeMs = maxAgeMs;

        // Keys that are read live at least three position checks beyond the age bound, so a watched guild's keys never
        // expire between two of its checks (the age bound of recovery is each entry's 'w').
        _handOver = new FeedHandOver(keys, capacity, maxAgeMs + (3 * (long)checkInterval.TotalMilliseconds), metaKeepMs, streamGaps, streamRotations, logger, reportError, new ForeignFormat(keys.Prefix, time, logger));
        _checkInterval = checkInterval;
        _tick = tick;
        _time = time;
        _logger = logger;
        _reportError = reportError;
    }

    /// <summary>Gets how many guilds are subscribed.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _feeds.Count;
            }
        }
    }

    /// <summary>What this instance delivered of a guild it follows (the outbox's anchor); any thread.</summary>
    public Anchor? AnchorOf(string guildId)
    {
        lock (_gate)
        {
            return _feeds.TryGetValue(guildId, out var feed) ? feed.SharedAnchor : null;
        }
    }

    /// <summary>
    /// Checks every followed guild against the stream now (subscribing what is not), with what was delivered as the
    /// anchor: Redis having lost acknowledged writes starts a new epoch before anything else is published. Returns
    /// whether every check succeeded (a node that is not a writable primary fails them: the read script writes).
    /// </summary>
    public async Task<bool> VerifyAllAsync()
    {
        GuildFeed[] feeds;
        lock (_gate)
        {
            feeds = [.. _feeds.Values];
        }

        foreach (var chunk in feeds.Chunk(32))
        {
            await Task.WhenAll(chunk.Select(f => SyncAsync(f, first: false))).ConfigureAwait(false);
        }

        lock (_gate)
        {
            return !_feeds.Values.Any(f => f.Stale || f.Queue is null);
        }
    }

    /// <summary>Follows guilds through <paramref name="connection"/> and hands their publications to <paramref name="handler"/> from now on.</summary>
    public void Start(IBrokerHandler handler, ConnectionMultiplexer connection)
    {
        _handOver.Start(handler, connection.GetDatabase());
        _subscriber = connection.GetSubscriber();
        _connection = connection;
        _lastCheckAt = _time.GetTimestamp();
    }

    /// <summary>Stops subscribing and checking; publications that still arrive are handed over until <see cref="Detach"/>.</summary>
    public void Stop() => Volatile.Write(ref _stopped, 1);

    /// <summary>Stops handing publications to the server (the broker's last step before closing the connection).</summary>
    public void Detach() => _handOver.Detach();

    /// <summary>
    /// One history read under the feed's gate (<see cref="ReadSinceAsync"/>). <see langword="null"/> when the reader is ahead
    /// of a healthy feed whose pub/sub is behind by more than the stream holds and <paramref name="mayWait"/>: the caller
    /// waits for pub/sub to bring the reader's position (see RedisFeeds.EarlyReads.cs).
    /// </summary>
    private async ValueTask<HistoryResult?> ReadSinceOnceAsync(string guildId, GuildFeed? feed, StreamPosition? since, bool mayWait, CancellationToken cancellationToken)
    {
        if (feed is not null)
        {
            await feed.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // Read from the lower of the reader's position and what this instance has delivered: publications after
            // the latter that pub/sub has not brought yet are handed over first, so that when this returns every
            // publication up to the position it reports has reached the server (the seam between replay and live).
            // A reader of another epoch than this instance follows, or than the stream's (checked by the script when this
            // instance follows none yet), gets the position only: nothing of a history it cannot recover from is read.
            var delivered = feed?.Delivered;
            var sinceSeq = since is { } s && (delivered is null || string.Equals(delivered.Value.Epoch, s.Epoch, StringComparison.Ordinal)) ? s.Seq : long.MaxValue;
            var from = Math.Min(sinceSeq, delivered?.Seq ?? long.MaxValue);
            StreamRead read;
            try
            {
                read = await _handOver.ReadCheckedAsync(feed, guildId, from == long.MaxValue ? -1 : from, delivered is null ? since?.Epoch : null).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                return Unavailable(feed, since, ex);
            }

            if (feed is { Closed: false })
            {
                if (LeavesToPubSub(guildId, feed, read, since, mayWait, out var answer))
                {
                    return answer;
                }

                _handOver.CatchUpLocked(feed, read);
            }

            return HistoryOf(guildId, read, since);
        }
        finally
        {
            feed?.Gate.Release();
        }
    }

    /// <summary>Adds a subscriber to the guild; the first one subscribes its channel and settles its position.</summary>
    public async ValueTask SubscribeAsync(string guildId)
    {
        ArgumentException.ThrowIfNullOrEmpty(guildId);
        GuildFeed feed;
        lock (_gate)
        {
            if (!_feeds.TryGetValue(guildId, out feed!))
            {
                feed = new GuildFeed(guildId);
                _feeds.Add(guildId, feed);
            }

            if (++feed.References > 1)
            {
                return;
            }
        }

        await SyncAsync(feed, first: true).ConfigureAwait(false);
    }

    /// <summary>Removes a subscriber from the guild; the last one closes the feed and unsubscribes its channel.</summary>
    public async ValueTask UnsubscribeAsync(string guildId)
    {
        GuildFeed? closed = null;
        lock (_gate)
        {
            if (_feeds.TryGetValue(guildId, out var feed) && --feed.References <= 0)
            {
                _feeds.Remove(guildId);
                feed.Closed = true;
                closed = feed;
            }
        }

        if (closed is null)
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task? previous;
        lock (_gate)
        {
            _closing.TryGetValue(guildId, out previous);
            _closing[guildId] = done.Task;
        }

        try
        {
            if (previous is not null)
            {
                await previous.ConfigureAwait(false);
            }

            await CloseAsync(closed).ConfigureAwait(false);
        }
        finally
        {
            lock (_gate)
            {
                if (_closing.TryGetValue(guildId, out var current) && current == done.Task)
                {
                    _closing.Remove(guildId);
                }
            }

            done.TrySetResult();
        }
    }

    private async Task CloseAsync(GuildFeed closed)
    {
        await closed.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (closed.Queue is { } queue)
            {
                closed.Queue = null;
                await queue.UnsubscribeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            Log.UnsubscribeFailed(_logger, ex, closed.GuildId); // the subscription ends with the connection anyway
        }
        finally
        {
            closed.Gate.Release();
        }
    }

    /// <summary>Subscribes the guild's channel if it is not yet, then settles its position (catching up what pub/sub missed; a <paramref name="routine"/> check of a healthy feed: <see cref="FeedHandOver.AwaitsPubSub"/>).</summary>
    private async Task SyncAsync(GuildFeed feed, bool first, bool routine = false)
    {
        var channel = default(RedisChannel);
        await feed.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (feed.Closed || Volatile.Read(ref _stopped) != 0)
            {
                return;
            }

            var healthy = routine && !feed.Stale && feed.Queue is not null;
            StreamRead read;
            for (var followed = false; ; followed = true)
            {
                if (feed.Queue is null)
                {
                    Task? closing;
                    lock (_gate)
                    {
                        if (feed.Closed)
                        {
                            // The last viewer left meanwhile (set under this lock before its close is registered in
                            // _closing): that close waits for this gate, so awaiting it here would never end.
                            return;
                        }

                        _closing.TryGetValue(feed.GuildId, out closing);
                    }

                    if (closing is not null)
                    {
                        await closing.ConfigureAwait(false); // the previous feed's UNSUBSCRIBE first (never fails: see UnsubscribeAsync)
                    }

                    var subscriber = _subscriber ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The Redis broker has not been started.");
                    channel = _mode.Channel(_connection!, _keys.Channel(feed.GuildId)); // sharded or classic: decided on the first connection
                    var queue = await subscriber.SubscribeAsync(channel).ConfigureAwait(false);
                    queue.OnMessage(message => _handOver.OnMessageAsync(feed, message));
                    feed.Queue = queue;
                }

                read = await _handOver.ReadCheckedAsync(feed, feed.GuildId, feed.Delivered?.Seq ?? -1).ConfigureAwait(false);
                if (followed || !await LeftOnAFormerPrimaryLockedAsync(feed).ConfigureAwait(false))
                {
                    break;
                }

                healthy = false; // what was published meanwhile never came: caught up from the stream once subscribed again
            }

            if (healthy && !feed.Stale && FeedHandOver.AwaitsPubSub(feed, read))
            {
                return; // the channel brings it, in order: checked again at the next position check
            }

            _handOver.CatchUpLocked(feed, read);
            feed.Awaited = null;
            feed.Stale = false;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            feed.Stale = true;
            if (first && feed.Delivered is null)
            {
                feed.UnknownWhileWatched = true;
            }

            if (feed.Queue is null && !channel.IsNullOrEmpty && _subscriber is { } subscriber)
            {
                // StackExchange.Redis registers the queue before it sends SUBSCRIBE: a failed one would leave a queue
                // nobody reads (and that its reconnect re-subscribes). The retry makes a new one — after this
                // UNSUBSCRIBE is written, under the gate: a SUBSCRIBE between its deregistration and its command would
                // end unsubscribed in Redis while the library counts it subscribed (see _closing).
                await ForgetChannelAsync(subscriber, channel).ConfigureAwait(false);
            }

            Log.SyncFailed(_logger, feed.GuildId, ex.Message);
        }
        finally
        {
            feed.Gate.Release();
        }
    }

    private async Task ForgetChannelAsync(ISubscriber subscriber, RedisChannel channel)
    {
        try
        {
            await subscriber.UnsubscribeAsync(channel).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _reportError(ex.Message); // the local registration is gone either way
        }
    }

    /// <summary>What a reader gets while Redis does not answer: no replay; "recovered" only if it is exactly where this instance's delivery is.</summary>
    private HistoryResult Unavailable(GuildFeed? feed, StreamPosition? since, Exception ex)
    {
        _reportError(ex.Message);
        Log.ReadFailed(_logger, ex.Message);
        if (feed?.Delivered is { } delivered)
        {
            feed.Stale = true;
            return HistoryResult.FromStream(delivered, since, []);
        }

        if (feed is not null)
        {
            feed.Stale = true;
            feed.UnknownWhileWatched = true;
        }

        // A placeholder, not a place in any stream: nobody recovers from it (not even a reader that was given it).
        return new HistoryResult(new StreamPosition(0, UnavailableEpoch), since is null ? null : false, []);
    }

    /// <summary>The reader's answer from what the stream still holds after its position, up to <paramref name="upTo"/> (the stream's top by default; entries past the age bound left out).</summary>
    private HistoryResult HistoryOf(string guildId, StreamRead read, StreamPosition? since, StreamPosition? upTo = null)
    {
        var current = upTo ?? read.Current;
        if (since is not { } from || !string.Equals(from.Epoch, read.Epoch, StringComparison.Ordinal) || from.Seq >= current.Seq)
        {
            return HistoryResult.FromStream(current, since, []);
        }

        var oldest = read.Now - _maxAgeMs;
        var retained = new List<Publication>();
        foreach (var item in read.Items)
        {
            if (item.Seq > from.Seq && item.Seq <= current.Seq && item.AppendedAt >= oldest)
            {
                retained.Add(item.ToPublication(guildId, read.Epoch));
            }
        }

        return HistoryResult.FromStream(current, since, retained);
    }

    // The broker's logger and event ids (10-12): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Warning, "Reading a guild's stream from Redis failed ({Message}); the subscriber is answered without a replay")]
        public static partial void ReadFailed(ILogger logger, string message);

        [LoggerMessage(11, LogLevel.Debug, "Subscribing or checking guild {GuildId} failed ({Message}); retried by the position check")]
        public static partial void SyncFailed(ILogger logger, string guildId, string message);

        [LoggerMessage(12, LogLevel.Debug, "Unsubscribing guild {GuildId} failed")]
        public static partial void UnsubscribeFailed(ILogger logger, Exception exception, string guildId);
    }
}
