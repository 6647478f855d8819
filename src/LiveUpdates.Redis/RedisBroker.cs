using System.Buffers.Text;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LiveUpdates.Brokers;
using LiveUpdates.Internal;
using LiveUpdates.Redis.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

// Longer than our ~450-line guide: the publishing side (outbox) and the subscribing side (feeds) share the connection,
// the timer and the reconnect handling; README.md beside this file explains the design.

namespace LiveUpdates.Redis;

/// <summary>
/// A broker that keeps every guild's stream in Redis, so that several server processes share one order per guild,
/// one history and one set of positions: a dashboard connected to any instance sees every instance's broadcasts and
/// recovers on any instance. Added with <c>services.AddLiveUpdates(…).AddRedis()</c>, or passed to a
/// <see cref="WebSocketManager"/> directly.
/// </summary>
/// <remarks>
/// <para>
/// Per guild: a stream (the bounded history), a hash (epoch and top sequence number) and a channel, all under the
/// guild's <c>{guildId}</c> hash tag. One Lua script per publish creates the epoch if missing, numbers the message,
/// appends it and publishes it with its position. An instance subscribes only to the channels of the guilds its own
/// clients watch; a sequence number that skips, an epoch that changes, or a periodic position check that finds the
/// stream ahead is repaired from the stream where it can be, and otherwise reported to the server
/// (<see cref="IBrokerHandler.OnStreamLost"/>), which tells the guild's subscribers to refetch.
/// </para>
/// <para>
/// Redis being unreachable never blocks or fails a broadcast: publications wait in a bounded outbox and are published
/// in order once Redis is back; beyond <see cref="RedisBrokerOptions.OutboxCapacity"/>, and when a publish's outcome
/// is unknown, the guild gets a gap instead, so its subscribers refetch. Nothing is lost silently.
/// </para>
/// </remarks>
public sealed partial class RedisBroker : IBroker, IDependencyHealth, IAsyncDisposable
{
    /// <summary>The meter the broker's instruments belong to.</summary>
    public const string MeterName = "LiveUpdates.Redis";

    private const int MaxBatchMessages = 64;
    private const int MaxBatchBytes = 256 * 1024;
    private const string UnavailableEpoch = "unavailable";
    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);

    private readonly RedisBrokerOptions _options;
    private readonly ConfigurationOptions _configuration;
    private readonly string _prefix;
    private readonly int _capacity;
    private readonly long _maxAgeMs;
    private readonly long _readKeepMs;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _publishFailures;
    private readonly Counter<long> _streamGaps;
    private readonly LogThrottle _overflowLog;
    private readonly object _outboxGate = new();
    private readonly Dictionary<string, GuildOutbox> _outboxes = new(StringComparer.Ordinal);
    private readonly object _feedsGate = new();
    private readonly Dictionary<string, GuildFeed> _feeds = new(StringComparer.Ordinal);
    private int _outboxCount;
    private ConnectionMultiplexer? _connection;
    private IDatabase? _database;
    private ISubscriber? _subscriber;
    private volatile IBrokerHandler? _handler;
    private ITimer? _timer;
    private long _lastCheckAt;
    private int _checking;
    private int _stopped;
    private volatile string _lastError = "not connected yet";

    /// <summary>Creates a Redis broker; it connects in <see cref="StartAsync"/>.</summary>
    /// <param name="options">The broker's settings; <see cref="RedisBrokerOptions.Configuration"/> is required.</param>
    /// <param name="loggerFactory">Where the broker logs (category <c>LiveUpdates.Redis.RedisBroker</c>); none if <see langword="null"/>.</param>
    /// <param name="meterFactory">Creates the broker's meter (<see cref="MeterName"/>); a meter of its own if <see langword="null"/>.</param>
    /// <exception cref="ArgumentException">The options are invalid; the message says which setting and why.</exception>
    public RedisBroker(RedisBrokerOptions options, ILoggerFactory? loggerFactory = null, IMeterFactory? meterFactory = null)
        : this(options, loggerFactory, meterFactory, TimeProvider.System)
    {
    }

    internal RedisBroker(RedisBrokerOptions options, ILoggerFactory? loggerFactory, IMeterFactory? meterFactory, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = RedisBrokerOptionsValidation.Validate(options, out var configuration);
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _options = options;
        _configuration = configuration!;
        _prefix = options.KeyPrefix;
        _capacity = options.HistoryCapacity ?? 256;
        _maxAgeMs = (long)(options.HistoryMaxAge ?? TimeSpan.FromMinutes(5)).TotalMilliseconds;

        // Keys that are read live at least three position checks beyond the age bound, so a watched guild's keys never
        // expire between two of its checks (the age bound of recovery is each entry's 'w').
        _readKeepMs = _maxAgeMs + (3 * (long)options.PositionCheckInterval.TotalMilliseconds);
        _time = time;
        _overflowLog = new LogThrottle(time);
        _logger = (ILogger?)loggerFactory?.CreateLogger<RedisBroker>() ?? NullLogger.Instance;
        _ownsMeter = meterFactory is null;
        var version = typeof(RedisBroker).Assembly.GetName().Version?.ToString();
        _meter = meterFactory?.Create(MeterName, version) ?? new Meter(MeterName, version);
        _publishFailures = _meter.CreateCounter<long>("liveupdates.redis.publish.failures", "{publication}", "Publications that could not be published at once, by reason: unreachable (kept and retried), unknown (outcome unknown: replaced by a gap), outbox_full (dropped: recorded as a gap).");
        _streamGaps = _meter.CreateCounter<long>("liveupdates.redis.stream.gaps", "{gap}", "Publications missing from what this instance received, by outcome: repaired (read back from the stream) or refetch (subscribers told to refetch).");
        _meter.CreateObservableGauge("liveupdates.redis.connected", () => _connection?.IsConnected == true ? 1 : 0, null, "1 while the broker is connected to Redis.");
        _meter.CreateObservableGauge("liveupdates.redis.outbox.length", () => Volatile.Read(ref _outboxCount), "{publication}", "Publications waiting to be published.");
    }

    /// <inheritdoc />
    /// <remarks>Publications are delivered from the broker's own threads (pub/sub, repairs), to every instance subscribed to the guild.</remarks>
    public BrokerCapabilities Capabilities => BrokerCapabilities.Shared;

    /// <summary>Gets how many publications wait in the outbox.</summary>
    internal int OutboxLength => Volatile.Read(ref _outboxCount);

    /// <summary>Gets the connection, once started (tests use it to reach the server).</summary>
    internal ConnectionMultiplexer? Connection => _connection;

    /// <inheritdoc />
    public async Task StartAsync(IBrokerHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        var connection = await ConnectionMultiplexer.ConnectAsync(_configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += OnConnectionRestored;
        _connection = connection;
        _database = connection.GetDatabase();
        _subscriber = connection.GetSubscriber();
        if (connection.IsConnected)
        {
            _lastError = string.Empty;
            Log.Connected(_logger, connection.Configuration);
        }
        else
        {
            _lastError = "unreachable at start-up";
            Log.UnreachableAtStart(_logger, _configuration.ToString(includePassword: false));
        }

        _lastCheckAt = _time.GetTimestamp();
        _timer = _time.CreateTimer(static s => ((RedisBroker)s!).OnTimer(), this, RetryInterval, RetryInterval);
    }

    /// <inheritdoc />
    public ValueTask<StreamPosition> PublishAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(message.GuildId, nameof(message));
        var pending = new PendingPublication(message, external: true);
        GuildOutbox outbox;
        lock (_outboxGate)
        {
            outbox = GetOutboxLocked(message.GuildId);
            if (!message.IsGap && _outboxCount >= _options.OutboxCapacity)
            {
                // Full: this broadcast is lost, and recorded as one gap after what waits, so its subscribers refetch.
                if (!outbox.EndsWithGap)
                {
                    outbox.Queue.AddLast(new PendingPublication(BrokerMessage.Gap(message.GuildId, message.Timestamp), external: false));
                    _outboxCount++;
                }

                if (_overflowLog.Count(out var dropped))
                {
                    Log.OutboxFull(_logger, _options.OutboxCapacity, dropped, message.GuildId);
                }

                _publishFailures.Add(1, new KeyValuePair<string, object?>("reason", "outbox_full"));
                return ValueTask.FromException<StreamPosition>(new RedisPublishException(
                    $"The Redis outbox is full ({_options.OutboxCapacity} publications waiting): the broadcast was dropped and guild {message.GuildId} got a gap."));
            }

            outbox.Queue.AddLast(pending);
            _outboxCount++;
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

    /// <inheritdoc />
    public async ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(guildId);
        GuildFeed? feed;
        lock (_feedsGate)
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

    /// <inheritdoc />
    public async ValueTask SubscribeAsync(string guildId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(guildId);
        GuildFeed feed;
        lock (_feedsGate)
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

    /// <inheritdoc />
    public async ValueTask UnsubscribeAsync(string guildId, CancellationToken cancellationToken)
    {
        GuildFeed? closed = null;
        lock (_feedsGate)
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

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        if (_timer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        // What the server handed over before stopping is published if Redis is there to take it (bounded).
        try
        {
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bound.CancelAfter(_options.OperationTimeout);
            while (Volatile.Read(ref _outboxCount) > 0 && _connection?.IsConnected == true)
            {
                KickOutboxes();
                await Task.Delay(10, bound.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }

        _handler = null;
        if (Volatile.Read(ref _outboxCount) is var left and > 0)
        {
            Log.StoppedWithOutbox(_logger, left);
        }

        if (_connection is { } connection)
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
            try
            {
                await connection.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
            }

            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Stops the broker (if it was started) and disposes its meter when it owns it.</summary>
    /// <returns>A task that completes when the broker has stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    /// <inheritdoc />
    public DependencyHealth GetHealth()
    {
        var connection = _connection;
        var waiting = Volatile.Read(ref _outboxCount);
        int guilds;
        lock (_feedsGate)
        {
            guilds = _feeds.Count;
        }

        if (connection is null)
        {
            return new DependencyHealth(false, "Redis broker not started");
        }

        return connection.IsConnected
            ? new DependencyHealth(true, string.Create(CultureInfo.InvariantCulture, $"Redis connected; {guilds} guild(s) subscribed, {waiting} publication(s) waiting"))
            : new DependencyHealth(false, string.Create(CultureInfo.InvariantCulture, $"Redis unreachable ({_lastError}); {waiting} publication(s) waiting, published once it is back"));
    }

    private GuildOutbox GetOutboxLocked(string guildId)
    {
        if (!_outboxes.TryGetValue(guildId, out var outbox))
        {
            outbox = new GuildOutbox(guildId, KeyOf(guildId, "meta"), KeyOf(guildId, "stream"), KeyOf(guildId, "ch"));
            _outboxes.Add(guildId, outbox);
        }

        return outbox;
    }

    private string KeyOf(string guildId, string suffix) => string.Concat(_prefix, ":{", guildId, "}:", suffix);

    /// <summary>Publishes a guild's waiting publications, one script (a batch, in order) at a time, until none waits or Redis fails.</summary>
    private async Task SendAsync(GuildOutbox outbox)
    {
        var batch = new List<PendingPublication>();
        while (true)
        {
            batch.Clear();
            var bytes = 0;
            lock (_outboxGate)
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

            lock (_outboxGate)
            {
                _outboxCount -= batch.Count;
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
        args[0] = _capacity;
        args[1] = _maxAgeMs;
        args[2] = NewEpoch();
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
        _lastError = ex.Message;
        lock (_outboxGate)
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
                _outboxCount -= batch.Count - 1;
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

    private void KickOutboxes()
    {
        if (_connection?.IsConnected != true)
        {
            return;
        }

        List<GuildOutbox>? start = null;
        lock (_outboxGate)
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

    private async Task<StreamRead> ReadAsync(string guildId, long from)
    {
        var database = _database ?? throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, CommandFlags.None, "The Redis broker has not been started.");
        var result = await database.ScriptEvaluateAsync(RedisScripts.Read, [KeyOf(guildId, "meta"), KeyOf(guildId, "stream")], [NewEpoch(), _readKeepMs, from]).ConfigureAwait(false);
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
            await _database!.ScriptEvaluateAsync(RedisScripts.RotateIfBehind, [KeyOf(guildId, "meta"), KeyOf(guildId, "stream")], [delivered.Epoch, delivered.Seq, NewEpoch(), _maxAgeMs]).ConfigureAwait(false);
            read = await ReadAsync(guildId, from).ConfigureAwait(false);
        }

        return read;
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
                var queue = await subscriber.SubscribeAsync(RedisChannel.Literal(KeyOf(feed.GuildId, "ch"))).ConfigureAwait(false);
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
                _ = ForgetChannelAsync(subscriber, RedisChannel.Literal(KeyOf(feed.GuildId, "ch")));
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
            _lastError = ex.Message; // the local registration is gone either way
        }
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
        if (feed.Closed || !TryParse(message.Message, out var seq, out var epoch, out var timestamp, out var name, out var data))
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
            _lastError = ex.Message;
        }

        Lost(feed, new StreamPosition(next - 1, delivered.Epoch));
        return true;
    }

    private static bool TryParse(RedisValue value, out long seq, out ReadOnlyMemory<byte> epoch, out long timestamp, out string? name, out ReadOnlyMemory<byte> data)
    {
        seq = timestamp = 0;
        name = null;
        epoch = data = default;
        var bytes = (byte[]?)value;
        if (bytes is null)
        {
            return false;
        }

        var memory = bytes.AsMemory();
        Span<int> newlines = stackalloc int[4];
        var from = 0;
        for (var i = 0; i < 4; i++)
        {
            var at = memory.Span[from..].IndexOf((byte)'\n');
            if (at < 0)
            {
                return false;
            }

            newlines[i] = from + at;
            from += at + 1;
        }

        if (!System.Buffers.Text.Utf8Parser.TryParse(memory.Span[..newlines[0]], out seq, out _) ||
            !System.Buffers.Text.Utf8Parser.TryParse(memory.Span[(newlines[1] + 1)..newlines[2]], out timestamp, out _))
        {
            return false;
        }

        epoch = memory[(newlines[0] + 1)..newlines[1]];
        name = newlines[3] > newlines[2] + 1 ? Encoding.UTF8.GetString(memory.Span[(newlines[2] + 1)..newlines[3]]) : null;
        data = memory[(newlines[3] + 1)..];
        return true;
    }

    /// <summary>What a reader gets while Redis does not answer: no replay; "recovered" only if it is exactly where this instance's delivery is.</summary>
    private HistoryResult Unavailable(GuildFeed? feed, StreamPosition? since, Exception ex)
    {
        _lastError = ex.Message;
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

    private void OnTimer()
    {
        KickOutboxes();
        // Half a tick early rather than a whole tick late (the timer ticks every second).
        var due = _time.GetElapsedTime(Volatile.Read(ref _lastCheckAt)) + (RetryInterval / 2) >= _options.PositionCheckInterval;
        bool anyStale;
        lock (_feedsGate)
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
            lock (_feedsGate)
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

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        _lastError = $"{e.FailureType}: {e.Exception?.Message}";
        Log.ConnectionLost(_logger, e.ConnectionType, e.EndPoint?.ToString() ?? "?", e.FailureType, e.Exception?.Message ?? string.Empty);
        MarkAllStale();
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        Log.ConnectionRestored(_logger, e.ConnectionType, e.EndPoint?.ToString() ?? "?");
        MarkAllStale(); // messages published while a connection was down were not received: check every guild
        KickOutboxes();
    }

    private void MarkAllStale()
    {
        lock (_feedsGate)
        {
            foreach (var feed in _feeds.Values)
            {
                feed.Stale = true;
            }
        }
    }

    private static string NewEpoch() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Redis broker connected ({Configuration})")]
        public static partial void Connected(ILogger logger, string configuration);

        [LoggerMessage(2, LogLevel.Warning, "Redis is unreachable at start-up ({Configuration}); the broker keeps trying, broadcasts wait in the outbox meanwhile")]
        public static partial void UnreachableAtStart(ILogger logger, string configuration);

        [LoggerMessage(3, LogLevel.Warning, "Redis connection lost ({ConnectionType}, {EndPoint}): {FailureType} {Message}; reconnecting")]
        public static partial void ConnectionLost(ILogger logger, ConnectionType connectionType, string endPoint, ConnectionFailureType failureType, string message);

        [LoggerMessage(4, LogLevel.Information, "Redis connection restored ({ConnectionType}, {EndPoint}); checking every subscribed guild's stream")]
        public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType, string endPoint);

        [LoggerMessage(5, LogLevel.Warning, "{Count} publication(s) of guild {GuildId} could not be sent to Redis ({Message}); kept in the outbox and retried in order")]
        public static partial void PublishDeferred(ILogger logger, int count, string guildId, string message);

        [LoggerMessage(6, LogLevel.Warning, "Publishing {Count} publication(s) of guild {GuildId} had an unknown outcome; a gap is published instead, so the guild's subscribers refetch")]
        public static partial void PublishOutcomeUnknown(ILogger logger, Exception exception, int count, string guildId);

        [LoggerMessage(7, LogLevel.Error, "The Redis outbox is full ({Capacity}): {Dropped} broadcast(s) dropped since the last report, the latest for guild {GuildId}; their guilds get a gap, so subscribers refetch")]
        public static partial void OutboxFull(ILogger logger, int capacity, long dropped, string guildId);

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

        [LoggerMessage(13, LogLevel.Warning, "The Redis broker stopped with {Count} publication(s) not published")]
        public static partial void StoppedWithOutbox(ILogger logger, int count);

        [LoggerMessage(14, LogLevel.Warning, "Guild {GuildId}'s stream in Redis is at seq {Top}, below the {Delivered} this instance delivered: Redis lost writes (an older snapshot, a failover); a new epoch starts and its subscribers refetch")]
        public static partial void StreamBehind(ILogger logger, string guildId, long top, long delivered);
    }
}
