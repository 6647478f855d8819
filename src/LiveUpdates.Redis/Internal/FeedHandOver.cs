using System.Diagnostics.Metrics;
using System.Text;
using LiveUpdates.Brokers;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// Hands each followed guild's publications to the server once each and in order (pub/sub messages, repairs of what
/// they skipped, catch-ups after stream reads) and reports what cannot be recovered; called with the guild's
/// <see cref="GuildFeed.Gate"/> held, from whichever thread holds it (a channel's message queue, the dispatch loop, the timer).
/// </summary>
/// <remarks>
/// A sequence number that skips is read back from the stream (the read script's <c>XRANGE</c>, with the epoch, so that
/// a stream reset meanwhile is not taken for the old one); an epoch that changes, or a range the stream no longer holds,
/// is reported with <see cref="IBrokerHandler.OnStreamLost"/>, which makes the guild's subscribers refetch.
/// Its own fields are set once, at start and at stop.
/// </remarks>
internal sealed partial class FeedHandOver
{
    private readonly RedisKeys _keys;
    private readonly int _capacity;
    private readonly long _readKeepMs;
    private readonly long _metaKeepMs;
    private readonly Counter<long> _streamGaps;
    private readonly Counter<long> _streamRotations;
    private readonly ILogger _logger;
    private readonly Action<string> _reportError;
    private readonly ForeignFormat _foreign;
    private IDatabase? _database;
    private volatile IBrokerHandler? _handler;

    /// <summary>Creates the hand-over; it reads and hands over once <see cref="Start"/> gave it the server and the database.</summary>
    /// <param name="keys">The guilds' key names.</param>
    /// <param name="capacity">The stream's length bound (an anchor older than it cannot be checked).</param>
    /// <param name="readKeepMs">The stream's expiry after a read, in milliseconds.</param>
    /// <param name="metaKeepMs">The metadata's expiry, in milliseconds (longer than the stream's).</param>
    /// <param name="streamGaps">The broker's counter of publications missing from what this instance received.</param>
    /// <param name="streamRotations">The broker's counter of new epochs started because Redis lost acknowledged writes.</param>
    /// <param name="logger">The broker's logger.</param>
    /// <param name="reportError">Tells the broker the latest Redis error (its health shows it).</param>
    /// <param name="foreign">Reports messages and entries of another LiveUpdates version on the same key prefix.</param>
    public FeedHandOver(RedisKeys keys, int capacity, long readKeepMs, long metaKeepMs, Counter<long> streamGaps, Counter<long> streamRotations, ILogger logger, Action<string> reportError, ForeignFormat foreign)
    {
        _foreign = foreign;
        _keys = keys;
        _capacity = capacity;
        _readKeepMs = readKeepMs;
        _metaKeepMs = metaKeepMs;
        _streamGaps = streamGaps;
        _streamRotations = streamRotations;
        _logger = logger;
        _reportError = reportError;
    }

    /// <summary>Reads through <paramref name="database"/> and hands publications to <paramref name="handler"/> from now on.</summary>
    public void Start(IBrokerHandler handler, IDatabase database)
    {
        _handler = handler;
        _database = database;
    }

    /// <summary>Stops handing publications to the server (the broker's last step before closing the connection).</summary>
    public void Detach() => _handler = null;

    /// <summary>
    /// Reads with what this instance delivered as the anchor: if the stream contradicts it (still that epoch, but its top
    /// is below, or its entry at that seq is another event: Redis lost acknowledged writes, restarted from an older
    /// snapshot or failed over to a replica that lagged), the script starts a new epoch first, so that a number already
    /// given out never names another event in the same epoch; the catch-up then makes the guild's subscribers refetch.
    /// </summary>
    /// <param name="feed">The guild's feed on this instance, if it has one.</param>
    /// <param name="guildId">The guild.</param>
    /// <param name="from">Entries after this seq are read (none if negative).</param>
    /// <param name="onlyInEpoch">When set, entries are read only if the stream is in this epoch (a reader of another epoch gets the position only).</param>
    public async Task<StreamRead> ReadCheckedAsync(GuildFeed? feed, string guildId, long from, string? onlyInEpoch = null)
    {
        var anchor = feed?.Delivered is { } delivered ? new Anchor(delivered, feed.DeliveredId) : (Anchor?)null;
        var read = await ReadAsync(guildId, from, anchor, onlyInEpoch).ConfigureAwait(false);
        if (read.Rotated && anchor is { } contradicted)
        {
            _streamRotations.Add(1);
            Log.StreamBehind(_logger, guildId, contradicted.Position.Seq, contradicted.Position.Epoch, read.Epoch);
        }

        return read;
    }

    /// <summary>
    /// Whether a routine position check of a healthy feed leaves the publications after what it delivered to pub/sub:
    /// the channel of a subscription that never failed brings every publication, in order, only later when this
    /// instance is busy (a burst of thousands): taking the stream's top for what pub/sub lost would hand over from the
    /// stream ahead of the channel, and once the stream no longer holds the range (<c>HistoryCapacity</c>) make every
    /// subscriber refetch and drop the backlog still on its way. So the check notes the top it saw, and the next one
    /// repairs (or signals) only what pub/sub has not brought by then, a whole <c>PositionCheckInterval</c> later. A new
    /// epoch, or a stream that contradicts the anchor, is acted on at once. Under the feed's gate.
    /// </summary>
    public static bool AwaitsPubSub(GuildFeed feed, StreamRead read)
    {
        if (feed.Delivered is not { } delivered || read.Rotated || !string.Equals(delivered.Epoch, read.Epoch, StringComparison.Ordinal) || read.Top <= delivered.Seq)
        {
            return false;
        }

        if (feed.Awaited is { } awaited && string.Equals(awaited.Epoch, delivered.Epoch, StringComparison.Ordinal) && delivered.Seq < awaited.Seq)
        {
            return false; // a whole interval, and pub/sub has not brought what the previous check saw: repaired or signalled now
        }

        feed.Awaited = read.Current;
        return true;
    }

    /// <summary>
    /// Whether the stream is ahead of a healthy feed (subscribed, nothing failed since, same epoch, the anchor confirmed)
    /// by more than it still holds: pub/sub is behind in a burst, not lost. Catching up now would take the publications
    /// the channel is still bringing for lost (a spurious refetch, the backlog dropped); they are left to pub/sub, and the
    /// position check repairs or signals what it has not brought (<see cref="AwaitsPubSub"/>). Under the feed's gate.
    /// </summary>
    public static bool PubSubIsBehind(GuildFeed feed, StreamRead read) =>
        feed.Queue is not null && !feed.Stale && !feed.Closed && !read.Rotated &&
        feed.Delivered is { } delivered && string.Equals(delivered.Epoch, read.Epoch, StringComparison.Ordinal) &&
        read.Top > delivered.Seq && !read.TryGetFrom(delivered.Seq + 1, out _);

    /// <summary>
    /// Brings what this instance delivered up to the stream's position: the publications after it are handed over from
    /// the stream if it still holds them all, otherwise the guild's subscribers are told to refetch. Under the feed's gate.
    /// </summary>
    public void CatchUpLocked(GuildFeed feed, StreamRead read)
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

            feed.SetDelivered(current, read.TopId);
            return;
        }

        if (!string.Equals(delivered.Epoch, read.Epoch, StringComparison.Ordinal))
        {
            Lost(feed, current); // the stream expired or Redis lost its data: a new epoch
            feed.SetDelivered(current, read.TopId);
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

        feed.SetDelivered(current with { Epoch = delivered.Epoch }, read.TopId);
    }

    /// <summary>Hands a channel message over, repairing from the stream what it skipped; on the channel's message queue.</summary>
    public async Task OnMessageAsync(GuildFeed feed, ChannelMessage message)
    {
        if (feed.Closed)
        {
            return;
        }

        if (!ChannelPayload.TryParse(message.Message, out var seq, out var epoch, out var id, out var previousId, out var timestamp, out var name, out var data))
        {
            _foreign.OnChannelMessage(feed.GuildId); // skipped: another version's format (its event reaches us from the stream)
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
            if (!sameEpoch)
            {
                // Another epoch: a new one (Redis lost the keys, or started one over lost writes), or a late message
                // of one already left behind. Only the stream can tell which: the catch-up follows the stream, and a
                // message of a retired epoch is dropped (never taken for a second change).
                await VerifyLockedAsync(feed).ConfigureAwait(false);
                return;
            }

            if (seq <= delivered.Seq)
            {
                if (!feed.DeliveredRecently(seq, id) && !feed.Covers(seq))
                {
                    // A number already given out in this epoch, for an event this instance did not deliver at it:
                    // Redis may have lost writes and numbered new events again. Settle it before anything else.
                    await VerifyLockedAsync(feed).ConfigureAwait(false);
                }

                return; // otherwise: already delivered (by a repair or a catch-up)
            }

            if (seq == delivered.Seq + 1 && previousId != 0 && feed.DeliveredId != 0 && previousId != feed.DeliveredId)
            {
                // The next number, but not after the event delivered at the last one: another history.
                await VerifyLockedAsync(feed).ConfigureAwait(false);
                return;
            }

            if (seq > delivered.Seq + 1 && !await RepairLockedAsync(feed, delivered, seq).ConfigureAwait(false))
            {
                return; // the stream was reset meanwhile: the message belongs to an epoch that is gone
            }

            var position = new StreamPosition(seq, delivered.Epoch);
            var publication = new Publication(
                name is { Length: > 0 } ? BrokerMessage.Event(feed.GuildId, name, data, timestamp) : BrokerMessage.Gap(feed.GuildId, timestamp),
                position);
            feed.SetDelivered(position, id);
            _handler?.OnPublication(publication);
        }
        finally
        {
            feed.Gate.Release();
        }
    }

    /// <summary>
    /// Re-reads the stream with the anchor and catches up (a new epoch, or one that was started over lost writes, is a
    /// refetch), unless the stream confirms the anchor and is only ahead of pub/sub by more than it holds
    /// (<see cref="PubSubIsBehind"/>); under the feed's gate.
    /// </summary>
    private async Task VerifyLockedAsync(GuildFeed feed)
    {
        try
        {
            var read = await ReadCheckedAsync(feed, feed.GuildId, feed.Delivered?.Seq ?? -1).ConfigureAwait(false);
            if (PubSubIsBehind(feed, read))
            {
                return; // the stream confirms what was delivered; the channel brings the rest, in order
            }

            CatchUpLocked(feed, read);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _reportError(ex.Message);
            feed.Stale = true; // the position check retries
        }
    }

    /// <summary>Reads the guild's position and its entries after <paramref name="from"/> (none if negative), refreshing its keys' expiry.</summary>
    private async Task<StreamRead> ReadAsync(string guildId, long from, Anchor? anchor, string? onlyInEpoch = null)
    {
        var database = _database ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The Redis broker has not been started.");
        var args = new RedisValue[9];
        args[0] = RedisScripts.NewEpoch();
        args[1] = _readKeepMs;
        args[2] = from;
        args[3] = _metaKeepMs;
        Anchor.Write(anchor, _capacity, args.AsSpan(4));
        args[8] = onlyInEpoch ?? string.Empty;
        var result = await database.ScriptEvaluateAsync(RedisScripts.Read, [_keys.Meta(guildId), _keys.Stream(guildId)], args).ConfigureAwait(false);
        var read = StreamRead.Parse(result);
        _foreign.OnRead(guildId, read.Now, read.Items);
        return read;
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
            var read = await ReadCheckedAsync(feed, feed.GuildId, delivered.Seq).ConfigureAwait(false);
            if (!string.Equals(read.Epoch, delivered.Epoch, StringComparison.Ordinal))
            {
                Lost(feed, read.Current);
                feed.SetDelivered(read.Current, read.TopId);
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

    /// <summary>Hands publications that pub/sub did not bring, read back from the stream, to the server in order.</summary>
    private void HandOverRepaired(GuildFeed feed, List<StreamItem> items, string epoch)
    {
        var handler = _handler;
        foreach (var item in items)
        {
            var publication = item.ToPublication(feed.GuildId, epoch);
            feed.SetDelivered(publication.Position, item.Id);
            handler?.OnPublication(publication);
        }

        _streamGaps.Add(items.Count, new KeyValuePair<string, object?>("outcome", "repaired"));
        Log.Repaired(_logger, items.Count, feed.GuildId);
    }

    private void Lost(GuildFeed feed, StreamPosition position)
    {
        feed.Cover(position);
        _streamGaps.Add(1, new KeyValuePair<string, object?>("outcome", "refetch"));
        Log.StreamLost(_logger, feed.GuildId, position.Seq, position.Epoch);
        _handler?.OnStreamLost(feed.GuildId, position);
    }

    // The broker's logger and event ids (8, 9, 14): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(8, LogLevel.Information, "Repaired {Count} publication(s) of guild {GuildId} that pub/sub did not deliver, from the stream")]
        public static partial void Repaired(ILogger logger, int count, string guildId);

        [LoggerMessage(9, LogLevel.Warning, "Guild {GuildId}'s stream cannot be followed up to seq {Seq} (epoch {Epoch}): publications are gone or the stream was reset; its subscribers here refetch")]
        public static partial void StreamLost(ILogger logger, string guildId, long seq, string epoch);

        [LoggerMessage(14, LogLevel.Warning, "Guild {GuildId}'s stream in Redis contradicts what this instance delivered (seq {Delivered} of epoch {Epoch}): Redis lost acknowledged writes (an older snapshot, a failover to a replica that lagged); new epoch {NewEpoch}, its subscribers refetch")]
        public static partial void StreamBehind(ILogger logger, string guildId, long delivered, string epoch, string newEpoch);
    }
}
