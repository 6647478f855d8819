using System.Diagnostics.Metrics;
using System.Text;
using LiveUpdates.Brokers;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// The Redis broker's subscribing side, which owns the guilds this instance follows and hands their publications to the
/// server once each, in order (pub/sub, catch-up on history reads, repairs, position checks); thread-safe: called from
/// the dispatch loop, the broker's timer, StackExchange.Redis's channel queues and connection events, the set of feeds
/// guarded by its own lock and each guild's hand-over by that guild's gate (<see cref="GuildFeed.Gate"/>).
/// </summary>
/// <remarks>
/// A guild's channel is subscribed while at least one of its subscribers is here (reference-counted), then its stream is
/// read (the catch-up). A sequence number that skips is repaired from the stream (the read script's <c>XRANGE</c>); an
/// epoch that changes, or a range the stream no longer holds, is reported (<see cref="IBrokerHandler.OnStreamLost"/>).
/// A lost connection marks every feed stale; stale feeds are re-checked every tick, all of them every
/// <see cref="RedisBrokerOptions.PositionCheckInterval"/>.
/// </remarks>
internal sealed partial class RedisFeeds
{
    private const string UnavailableEpoch = "unavailable";

    private readonly RedisKeys _keys;
    private readonly long _maxAgeMs;
    private readonly long _readKeepMs;
    private readonly TimeSpan _checkInterval;
    private readonly TimeSpan _tick;
    private readonly TimeProvider _time;
    private readonly Counter<long> _streamGaps;
    private readonly ILogger _logger;
    private readonly Action<string> _reportError;
    private readonly object _gate = new();
    private readonly Dictionary<string, GuildFeed> _feeds = new(StringComparer.Ordinal);
    private ConnectionMultiplexer? _connection;
    private IDatabase? _database;
    private ISubscriber? _subscriber;
    private volatile IBrokerHandler? _handler;
    private long _lastCheckAt;
    private int _checking;
    private int _stopped;

    /// <summary>Creates the feeds; they follow guilds once <see cref="Start"/> gave them the connection.</summary>
    /// <param name="keys">The guilds' key names.</param>
    /// <param name="maxAgeMs">The age bound of recovery, in milliseconds (also the keys' expiry after a publish).</param>
    /// <param name="checkInterval">How often every feed's position is checked (<see cref="RedisBrokerOptions.PositionCheckInterval"/>).</param>
    /// <param name="tick">How often the broker's timer calls <see cref="CheckPositionsIfDue"/>.</param>
    /// <param name="streamGaps">The broker's counter of publications missing from what this instance received.</param>
    /// <param name="time">The clock of the position checks.</param>
    /// <param name="logger">The broker's logger.</param>
    /// <param name="reportError">Tells the broker the latest Redis error (its health shows it).</param>
    public RedisFeeds(RedisKeys keys, long maxAgeMs, TimeSpan checkInterval, TimeSpan tick, Counter<long> streamGaps, TimeProvider time, ILogger logger, Action<string> reportError)
    {
        _keys = keys;
        _maxAgeMs = maxAgeMs;

        // Keys that are read live at least three position checks beyond the age bound, so a watched guild's keys never
        // expire between two of its checks (the age bound of recovery is each entry's 'w').
        _readKeepMs = maxAgeMs + (3 * (long)checkInterval.TotalMilliseconds);
        _checkInterval = checkInterval;
        _tick = tick;
        _streamGaps = streamGaps;
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

    /// <summary>Follows guilds through <paramref name="connection"/> and hands their publications to <paramref name="handler"/> from now on.</summary>
    public void Start(IBrokerHandler handler, ConnectionMultiplexer connection)
    {
        _handler = handler;
        _database = connection.GetDatabase();
        _subscriber = connection.GetSubscriber();
        _connection = connection;
        _lastCheckAt = _time.GetTimestamp();
    }

    /// <summary>Stops subscribing and checking; publications that still arrive are handed over until <see cref="Detach"/>.</summary>
    public void Stop() => Volatile.Write(ref _stopped, 1);

    /// <summary>Stops handing publications to the server (the broker's last step before closing the connection).</summary>
    public void Detach() => _handler = null;

    /// <inheritdoc cref="IBroker.ReadSinceAsync"/>
    public async ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken)
    {
        GuildFeed? feed;
        lock (_gate)
        {
            _feeds.TryGetValue(guildId, out feed);
        }

        if (feed is not null)
        {
            await feed.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // Read from the lower of the reader's position and what this instance has delivered: publications after
            // the latter that pub/sub has not brought yet are handed over first, so that when this returns every
            // publication up to the position it reports has reached the server (the seam between replay and live).
            var from = Math.Min(since?.Seq ?? long.MaxValue, feed?.Delivered?.Seq ?? long.MaxValue);
            StreamRead read;
            try
            {
                read = await ReadCheckedAsync(feed, guildId, from == long.MaxValue ? -1 : from).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
            {
                return Unavailable(feed, since, ex);
            }

            if (feed is { Closed: false })
            {
                CatchUpLocked(feed, read);
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
            Log.UnsubscribeFailed(_logger, ex, guildId); // the subscription ends with the connection anyway
        }
        finally
        {
            closed.Gate.Release();
        }
    }

    /// <summary>Marks every feed as possibly behind (the connection failed or came back): the next tick checks them.</summary>
    public void MarkAllStale()
    {
        lock (_gate)
        {
            foreach (var feed in _feeds.Values)
            {
                feed.Stale = true;
            }
        }
    }

    /// <summary>On the broker's timer: checks the stale feeds, or all of them once a <see cref="RedisBrokerOptions.PositionCheckInterval"/> has passed, if no check is running and Redis is connected.</summary>
    public void CheckPositionsIfDue()
    {
        // Half a tick early rather than a whole tick late.
        var due = _time.GetElapsedTime(Volatile.Read(ref _lastCheckAt)) + (_tick / 2) >= _checkInterval;
        bool anyStale;
        lock (_gate)
        {
            anyStale = _feeds.Values.Any(f => f.Stale || f.Queue is null);
        }

        if ((due || anyStale) && _connection?.IsConnected == true && Interlocked.CompareExchange(ref _checking, 1, 0) == 0)
        {
            if (due)
            {
                Volatile.Write(ref _lastCheckAt, _time.GetTimestamp());
            }

            _ = CheckFeedsAsync(all: due);
        }
    }

    /// <summary>Compares every subscribed guild's stream with what was delivered (or only the stale ones), repairing or reporting what is missing.</summary>
    private async Task CheckFeedsAsync(bool all)
    {
        try
        {
            GuildFeed[] feeds;
            lock (_gate)
            {
                feeds = [.. _feeds.Values.Where(f => all || f.Stale || f.Queue is null)];
            }

            foreach (var chunk in feeds.Chunk(32))
            {
                await Task.WhenAll(chunk.Select(f => SyncAsync(f, first: false))).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    /// <summary>Subscribes the guild's channel if it is not yet, then settles its position (catching up what pub/sub missed).</summary>
    private async Task SyncAsync(GuildFeed feed, bool first)
    {
        await feed.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (feed.Closed || Volatile.Read(ref _stopped) != 0)
            {
                return;
            }

            if (feed.Queue is null)
            {
                var subscriber = _subscriber ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The Redis broker has not been started.");
                var queue = await subscriber.SubscribeAsync(RedisChannel.Literal(_keys.Channel(feed.GuildId))).ConfigureAwait(false);
                queue.OnMessage(message => OnMessageAsync(feed, message));
                feed.Queue = queue;
            }

            var read = await ReadCheckedAsync(feed, feed.GuildId, feed.Delivered?.Seq ?? -1).ConfigureAwait(false);
            CatchUpLocked(feed, read);
            feed.Stale = false;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            feed.Stale = true;
            if (first && feed.Delivered is null)
            {
                feed.UnknownWhileWatched = true;
            }

            if (feed.Queue is null && _subscriber is { } subscriber)
            {
                // StackExchange.Redis registers the queue before it sends SUBSCRIBE: a failed one would leave a queue
                // nobody reads (and that its reconnect re-subscribes). The retry makes a new one.
                _ = ForgetChannelAsync(subscriber, RedisChannel.Literal(_keys.Channel(feed.GuildId)));
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

    private async Task<StreamRead> ReadAsync(string guildId, long from)
    {
        var database = _database ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The Redis broker has not been started.");
        var result = await database.ScriptEvaluateAsync(RedisScripts.Read, [_keys.Meta(guildId), _keys.Stream(guildId)], [RedisScripts.NewEpoch(), _readKeepMs, from]).ConfigureAwait(false);
        return StreamRead.Parse(result);
    }

    /// <summary>
    /// Reads, and if the stream is in the epoch this instance follows but below what it delivered (Redis lost writes:
    /// restarted from an older snapshot, or failed over to a replica that missed them), starts a new epoch first, so
    /// that numbers already given out are never given out again in the same epoch: the guild's subscribers refetch.
    /// </summary>
    private async Task<StreamRead> ReadCheckedAsync(GuildFeed? feed, string guildId, long from)
    {
        var read = await ReadAsync(guildId, from).ConfigureAwait(false);
        if (feed?.Delivered is { } delivered && string.Equals(read.Epoch, delivered.Epoch, StringComparison.Ordinal) && read.Top < delivered.Seq)
        {
            Log.StreamBehind(_logger, guildId, read.Top, delivered.Seq);
            await _database!.ScriptEvaluateAsync(RedisScripts.RotateIfBehind, [_keys.Meta(guildId), _keys.Stream(guildId)], [delivered.Epoch, delivered.Seq, RedisScripts.NewEpoch(), _maxAgeMs]).ConfigureAwait(false);
            read = await ReadAsync(guildId, from).ConfigureAwait(false);
        }

        return read;
    }

    /// <summary>
    /// Brings what this instance delivered up to the stream's position: the publications after it are handed over from
    /// the stream if it still holds them all, otherwise the guild's subscribers are told to refetch. Under the feed's gate.
    /// </summary>
    private void CatchUpLocked(GuildFeed feed, StreamRead read)
    {
        var current = read.Current;
        if (feed.Delivered is not { } delivered)
        {
            if (feed.UnknownWhileWatched)
            {
                // Subscribers joined while Redis could not say where the stream was: they may have missed anything.
                feed.UnknownWhileWatched = false;
                Lost(feed, current);
            }

            feed.Delivered = current;
            return;
        }

        if (!string.Equals(delivered.Epoch, read.Epoch, StringComparison.Ordinal))
        {
            Lost(feed, current); // the stream expired or Redis lost its data: a new epoch
            feed.Delivered = current;
            return;
        }

        if (read.Top <= delivered.Seq)
        {
            return;
        }

        if (read.TryGetFrom(delivered.Seq + 1, out var missed))
        {
            HandOverRepaired(feed, missed, delivered.Epoch);
        }
        else
        {
            Lost(feed, current);
        }

        feed.Delivered = current with { Epoch = delivered.Epoch };
    }

    /// <summary>Hands publications that pub/sub did not bring, read back from the stream, to the server in order.</summary>
    private void HandOverRepaired(GuildFeed feed, List<StreamItem> items, string epoch)
    {
        var handler = _handler;
        foreach (var item in items)
        {
            handler?.OnPublication(item.ToPublication(feed.GuildId, epoch));
        }

        _streamGaps.Add(items.Count, new KeyValuePair<string, object?>("outcome", "repaired"));
        Log.Repaired(_logger, items.Count, feed.GuildId);
    }

    private void Lost(GuildFeed feed, StreamPosition position)
    {
        _streamGaps.Add(1, new KeyValuePair<string, object?>("outcome", "refetch"));
        Log.StreamLost(_logger, feed.GuildId, position.Seq, position.Epoch);
        _handler?.OnStreamLost(feed.GuildId, position);
    }

    private async Task OnMessageAsync(GuildFeed feed, ChannelMessage message)
    {
        if (feed.Closed || !ChannelPayload.TryParse(message.Message, out var seq, out var epoch, out var timestamp, out var name, out var data))
        {
            return;
        }

        await feed.Gate.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            if (feed.Closed || feed.Delivered is not { } delivered)
            {
                return; // not read yet: the first read settles the position and catches up
            }

            var sameEpoch = Ascii.Equals(epoch.Span, delivered.Epoch); // per message: no allocation
            var epochText = sameEpoch ? delivered.Epoch : Encoding.ASCII.GetString(epoch.Span);
            if (!sameEpoch)
            {
                Lost(feed, new StreamPosition(seq - 1, epochText));
            }
            else if (seq <= delivered.Seq)
            {
                return; // already delivered (by a repair or a catch-up)
            }
            else if (seq > delivered.Seq + 1 && !await RepairLockedAsync(feed, delivered, seq).ConfigureAwait(false))
            {
                return; // the stream was reset meanwhile: the message belongs to an epoch that is gone
            }

            var publication = new Publication(
                name is { Length: > 0 } ? BrokerMessage.Event(feed.GuildId, name, data, timestamp) : BrokerMessage.Gap(feed.GuildId, timestamp),
                new StreamPosition(seq, epochText));
            feed.Delivered = publication.Position;
            _handler?.OnPublication(publication);
        }
        finally
        {
            feed.Gate.Release();
        }
    }

    /// <summary>
    /// A message skipped sequence numbers (pub/sub lost some): read them back from the stream (with its epoch, so that a
    /// stream reset meanwhile is not taken for the old one), or report the loss. Returns whether the message itself is
    /// still to be delivered (not when the stream has another epoch by now).
    /// </summary>
    private async Task<bool> RepairLockedAsync(GuildFeed feed, StreamPosition delivered, long next)
    {
        try
        {
            var read = await ReadAsync(feed.GuildId, delivered.Seq).ConfigureAwait(false);
            if (!string.Equals(read.Epoch, delivered.Epoch, StringComparison.Ordinal))
            {
                Lost(feed, read.Current);
                feed.Delivered = read.Current;
                return false;
            }

            if (read.TryGetRange(delivered.Seq + 1, next - 1, out var missed))
            {
                HandOverRepaired(feed, missed, delivered.Epoch);
                return true;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _reportError(ex.Message);
        }

        Lost(feed, new StreamPosition(next - 1, delivered.Epoch));
        return true;
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

        return HistoryResult.FromStream(new StreamPosition(0, UnavailableEpoch), since, []);
    }

    /// <summary>The reader's answer from what the stream still holds after its position (entries past the age bound left out).</summary>
    private HistoryResult HistoryOf(string guildId, StreamRead read, StreamPosition? since)
    {
        if (since is not { } from || !string.Equals(from.Epoch, read.Epoch, StringComparison.Ordinal) || from.Seq >= read.Top)
        {
            return HistoryResult.FromStream(read.Current, since, []);
        }

        var oldest = read.Now - _maxAgeMs;
        var retained = new List<Publication>();
        foreach (var item in read.Items)
        {
            if (item.Seq > from.Seq && item.AppendedAt >= oldest)
            {
                retained.Add(item.ToPublication(guildId, read.Epoch));
            }
        }

        return HistoryResult.FromStream(read.Current, since, retained);
    }

    // The broker's logger and event ids (8-12, 14): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(8, LogLevel.Information, "Repaired {Count} publication(s) of guild {GuildId} that pub/sub did not deliver, from the stream")]
        public static partial void Repaired(ILogger logger, int count, string guildId);

        [LoggerMessage(9, LogLevel.Warning, "Guild {GuildId}'s stream cannot be followed up to seq {Seq} (epoch {Epoch}): publications are gone or the stream was reset; its subscribers here refetch")]
        public static partial void StreamLost(ILogger logger, string guildId, long seq, string epoch);

        [LoggerMessage(10, LogLevel.Warning, "Reading a guild's stream from Redis failed ({Message}); the subscriber is answered without a replay")]
        public static partial void ReadFailed(ILogger logger, string message);

        [LoggerMessage(11, LogLevel.Debug, "Subscribing or checking guild {GuildId} failed ({Message}); retried by the position check")]
        public static partial void SyncFailed(ILogger logger, string guildId, string message);

        [LoggerMessage(12, LogLevel.Debug, "Unsubscribing guild {GuildId} failed")]
        public static partial void UnsubscribeFailed(ILogger logger, Exception exception, string guildId);

        [LoggerMessage(14, LogLevel.Warning, "Guild {GuildId}'s stream in Redis is at seq {Top}, below the {Delivered} this instance delivered: Redis lost writes (an older snapshot, a failover); a new epoch starts and its subscribers refetch")]
        public static partial void StreamBehind(ILogger logger, string guildId, long top, long delivered);
    }
}
