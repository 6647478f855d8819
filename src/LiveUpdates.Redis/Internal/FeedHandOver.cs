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
    private readonly long _maxAgeMs;
    private readonly long _readKeepMs;
    private readonly Counter<long> _streamGaps;
    private readonly ILogger _logger;
    private readonly Action<string> _reportError;
    private IDatabase? _database;
    private volatile IBrokerHandler? _handler;

    /// <summary>Creates the hand-over; it reads and hands over once <see cref="Start"/> gave it the server and the database.</summary>
    /// <param name="keys">The guilds' key names.</param>
    /// <param name="maxAgeMs">The keys' expiry after a publish, in milliseconds (a new epoch's too).</param>
    /// <param name="readKeepMs">The keys' expiry after a read, in milliseconds.</param>
    /// <param name="streamGaps">The broker's counter of publications missing from what this instance received.</param>
    /// <param name="logger">The broker's logger.</param>
    /// <param name="reportError">Tells the broker the latest Redis error (its health shows it).</param>
    public FeedHandOver(RedisKeys keys, long maxAgeMs, long readKeepMs, Counter<long> streamGaps, ILogger logger, Action<string> reportError)
    {
        _keys = keys;
        _maxAgeMs = maxAgeMs;
        _readKeepMs = readKeepMs;
        _streamGaps = streamGaps;
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
    /// Reads, and if the stream is in the epoch this instance follows but below what it delivered (Redis lost writes:
    /// restarted from an older snapshot, or failed over to a replica that missed them), starts a new epoch first, so
    /// that numbers already given out are never given out again in the same epoch: the guild's subscribers refetch.
    /// </summary>
    /// <param name="feed">The guild's feed on this instance, if it has one.</param>
    /// <param name="guildId">The guild.</param>
    /// <param name="from">Entries after this seq are read (none if negative).</param>
    /// <param name="onlyInEpoch">When set, entries are read only if the stream is in this epoch (a reader of another epoch gets the position only).</param>
    public async Task<StreamRead> ReadCheckedAsync(GuildFeed? feed, string guildId, long from, string? onlyInEpoch = null)
    {
        var read = await ReadAsync(guildId, from, onlyInEpoch).ConfigureAwait(false);
        if (feed?.Delivered is { } delivered && string.Equals(read.Epoch, delivered.Epoch, StringComparison.Ordinal) && read.Top < delivered.Seq)
        {
            Log.StreamBehind(_logger, guildId, read.Top, delivered.Seq);
            await _database!.ScriptEvaluateAsync(RedisScripts.RotateIfBehind, [_keys.Meta(guildId), _keys.Stream(guildId)], [delivered.Epoch, delivered.Seq, RedisScripts.NewEpoch(), _maxAgeMs]).ConfigureAwait(false);
            read = await ReadAsync(guildId, from, onlyInEpoch).ConfigureAwait(false);
        }

        return read;
    }

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

    /// <summary>Hands a channel message over, repairing from the stream what it skipped; on the channel's message queue.</summary>
    public async Task OnMessageAsync(GuildFeed feed, ChannelMessage message)
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

    /// <summary>Reads the guild's position and its entries after <paramref name="from"/> (none if negative), refreshing its keys' expiry.</summary>
    private async Task<StreamRead> ReadAsync(string guildId, long from, string? onlyInEpoch = null)
    {
        var database = _database ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The Redis broker has not been started.");
        var result = await database.ScriptEvaluateAsync(RedisScripts.Read, [_keys.Meta(guildId), _keys.Stream(guildId)], [RedisScripts.NewEpoch(), _readKeepMs, from, onlyInEpoch ?? string.Empty]).ConfigureAwait(false);
        return StreamRead.Parse(result);
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

    // The broker's logger and event ids (8, 9, 14): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(8, LogLevel.Information, "Repaired {Count} publication(s) of guild {GuildId} that pub/sub did not deliver, from the stream")]
        public static partial void Repaired(ILogger logger, int count, string guildId);

        [LoggerMessage(9, LogLevel.Warning, "Guild {GuildId}'s stream cannot be followed up to seq {Seq} (epoch {Epoch}): publications are gone or the stream was reset; its subscribers here refetch")]
        public static partial void StreamLost(ILogger logger, string guildId, long seq, string epoch);

        [LoggerMessage(14, LogLevel.Warning, "Guild {GuildId}'s stream in Redis is at seq {Top}, below the {Delivered} this instance delivered: Redis lost writes (an older snapshot, a failover); a new epoch starts and its subscribers refetch")]
        public static partial void StreamBehind(ILogger logger, string guildId, long top, long delivered);
    }
}
