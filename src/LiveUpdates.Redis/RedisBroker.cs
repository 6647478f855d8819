using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using LiveUpdates.Brokers;
using LiveUpdates.Redis.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

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
/// in order once Redis is back (a publish whose outcome is unknown is sent again, and appended once); beyond
/// <see cref="RedisBrokerOptions.OutboxCapacity"/> the guild gets a gap instead, so its subscribers refetch. Redis losing
/// acknowledged writes (an older snapshot, a failover to a replica that lagged) starts a new epoch before any position
/// is given out again. Nothing is lost silently.
/// </para>
/// </remarks>
public sealed partial class RedisBroker : IBroker, IDependencyHealth, IAsyncDisposable
{
    /// <summary>The meter the broker's instruments belong to.</summary>
    public const string MeterName = "LiveUpdates.Redis";

    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MetaLifetime = TimeSpan.FromHours(24);

    private readonly RedisBrokerOptions _options;
    private readonly ConfigurationOptions _configuration;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;

    // The publishing side and the subscribing side (README.md beside this file); the broker itself owns only what they
    // share: the connection and its events, the timer, health and the instruments.
    private readonly RedisOutbox _outbox;
    private readonly RedisFeeds _feeds;
    private readonly PubSubMode _pubSub;
    private readonly RedisKeys _keys;
    private readonly Counter<long> _publishFailures;
    private ConnectionMultiplexer? _connection;
    private ITimer? _timer;
    private int _stopped;
    private int _verifying;
    private long _lastReconfigureAt;
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
        var keys = _keys = new RedisKeys(options.KeyPrefix);
        var capacity = options.HistoryCapacity ?? 256;
        var maxAgeMs = (long)(options.HistoryMaxAge ?? RedisBrokerOptionsValidation.DefaultHistoryMaxAge).TotalMilliseconds;

        // The metadata (epoch, top) outlives the stream by far, so a client back to a quiet guild whose history merely
        // expired is told "recovered" when nothing was published meanwhile, and a refetch only when something was.
        var metaKeepMs = Math.Max((long)MetaLifetime.TotalMilliseconds, 2 * maxAgeMs);
        _time = time;

        // One logger for the broker and its two parts: the category users filter on stays LiveUpdates.Redis.RedisBroker.
        _logger = (ILogger?)loggerFactory?.CreateLogger<RedisBroker>() ?? NullLogger.Instance;
        _ownsMeter = meterFactory is null;
        var version = typeof(RedisBroker).Assembly.GetName().Version?.ToString();
        _meter = meterFactory?.Create(MeterName, version) ?? new Meter(MeterName, version);
        _publishFailures = _meter.CreateCounter<long>("liveupdates.redis.publish.failures", "{publication}", "Publications that could not be published at once, by reason: unreachable (not executed: kept and retried in order), retried (outcome unknown: sent again, published once), unknown (outcome still unknown after retries: replaced by a gap), outbox_full (dropped: recorded as a gap), stopped (still waiting when the broker stopped: never published).");
        var streamGaps = _meter.CreateCounter<long>("liveupdates.redis.stream.gaps", "{gap}", "Publications missing from what this instance received, by outcome: repaired (read back from the stream) or refetch (subscribers told to refetch).");
        var rotations = _meter.CreateCounter<long>("liveupdates.redis.stream.rotations", "{epoch}", "New epochs this instance started because Redis had lost acknowledged writes (an older snapshot, a failover to a replica that lagged).");
        _pubSub = new PubSubMode(options.ShardedPubSub);
        _feeds = new RedisFeeds(keys, capacity, maxAgeMs, metaKeepMs, options.PositionCheckInterval, RetryInterval, streamGaps, rotations, time, _logger, ReportError, _pubSub);
        _outbox = new RedisOutbox(keys, capacity, maxAgeMs, metaKeepMs, options.OutboxCapacity, _publishFailures, time, _logger, ReportError, _feeds.AnchorOf, OnTopologyChanged, _pubSub);
        _meter.CreateObservableGauge("liveupdates.redis.connected", () => _connection?.IsConnected == true ? 1 : 0, null, "1 while the broker is connected to Redis.");
        _meter.CreateObservableGauge("liveupdates.redis.outbox.length", () => _outbox.Count, "{publication}", "Publications waiting to be published.");
    }

    /// <inheritdoc />
    /// <remarks>Publications are delivered from the broker's own threads (pub/sub, repairs), to every instance subscribed to the guild.</remarks>
    public BrokerCapabilities Capabilities => BrokerCapabilities.Shared;

    /// <summary>Gets how many publications wait in the outbox.</summary>
    internal int OutboxLength => _outbox.Count;

    /// <summary>Gets the connection, once started (tests use it to reach the server).</summary>
    internal ConnectionMultiplexer? Connection => _connection;

    /// <inheritdoc />
    public async Task StartAsync(IBrokerHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var connection = await ConnectionMultiplexer.ConnectAsync(_configuration).WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_pubSub.Check(connection) && _pubSub.TryTakeRefusal(out var refused))
        {
            // ShardedPubSub forced on against a server older than 7.0: the start fails, not the first publish.
            await connection.DisposeAsync().ConfigureAwait(false);
            throw new InvalidOperationException(refused);
        }

        connection.ConnectionFailed += OnConnectionFailed;
        connection.ConnectionRestored += OnConnectionRestored;
        connection.ConfigurationChanged += OnConfigurationChanged;
        _connection = connection;
        _pubSub.TryDecide(connection); // or on the first command once a server answers
        _outbox.Start(connection);
        _feeds.Start(handler, connection);
        if (connection.IsConnected)
        {
            _lastError = string.Empty;
            Log.Connected(_logger, _configuration.ToString(includePassword: false), _pubSub.IsSharded ? "sharded (SPUBLISH/SSUBSCRIBE)" : "classic (PUBLISH/SUBSCRIBE)");
        }
        else
        {
            _lastError = "unreachable at start-up";
            Log.UnreachableAtStart(_logger, _configuration.ToString(includePassword: false));
        }

        _timer = _time.CreateTimer(static s => ((RedisBroker)s!).OnTimer(), this, RetryInterval, RetryInterval);
    }

    /// <inheritdoc />
    public ValueTask<StreamPosition> PublishAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(message.GuildId, nameof(message));
        return _outbox.PublishAsync(message);
    }

    /// <inheritdoc />
    public ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken) => _feeds.ReadSinceAsync(guildId, since, cancellationToken);

    /// <inheritdoc />
    public ValueTask SubscribeAsync(string guildId, CancellationToken cancellationToken) => _feeds.SubscribeAsync(guildId);

    /// <inheritdoc />
    public ValueTask UnsubscribeAsync(string guildId, CancellationToken cancellationToken) => _feeds.UnsubscribeAsync(guildId);

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        _feeds.Stop();
        if (_timer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }

        // What the server handed over before stopping is published if Redis takes it within the shutdown timeout
        // (Redis coming back meanwhile included); what is still waiting then is never published: logged and counted.
        await DrainAsync(cancellationToken).ConfigureAwait(false);
        _feeds.Detach();
        ReportUnpublished();

        if (_connection is { } connection)
        {
            connection.ConnectionFailed -= OnConnectionFailed;
            connection.ConnectionRestored -= OnConnectionRestored;
            connection.ConfigurationChanged -= OnConfigurationChanged;
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
        var waiting = _outbox.Count;
        var guilds = _feeds.Count;
        if (connection is null)
        {
            return new DependencyHealth(false, "Redis broker not started");
        }

        if (_pubSub.Refused is { } refused)
        {
            return new DependencyHealth(false, string.Create(CultureInfo.InvariantCulture, $"{refused} {waiting} publication(s) waiting"));
        }

        return connection.IsConnected
            ? new DependencyHealth(true, string.Create(CultureInfo.InvariantCulture, $"Redis connected; {guilds} guild(s) subscribed, {waiting} publication(s) waiting"))
            : new DependencyHealth(false, string.Create(CultureInfo.InvariantCulture, $"Redis unreachable ({_lastError}); {waiting} publication(s) waiting, published once it is back"));
    }

    /// <summary>The latest Redis error, from either part: what the health report shows while Redis is unreachable.</summary>
    private void ReportError(string message) => _lastError = message;

    private void OnTimer()
    {
        if (_outbox.Held)
        {
            VerifyThenResume();
        }

        _outbox.Kick(); // nothing while every guild is held; the guilds not held when only a cluster node's are

        _feeds.CheckPositionsIfDue();
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        _lastError = $"{e.FailureType}: {e.Exception?.Message}";
        Log.ConnectionLost(_logger, e.ConnectionType, e.EndPoint?.ToString() ?? "?", e.FailureType, e.Exception?.Message ?? string.Empty);
        HoldAndMarkStale(e.EndPoint); // until the guilds were checked against the stream again (Redis may have lost writes)
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        Log.ConnectionRestored(_logger, e.ConnectionType, e.EndPoint?.ToString() ?? "?");
        if (_connection is { } connection && _pubSub.Check(connection) && _pubSub.TryTakeRefusal(out var refused))
        {
            // Unreachable at start-up, then a server that cannot do what ShardedPubSub forces: the health check says so.
            Log.ShardedPubSubRefused(_logger, refused);
        }

        HoldAndMarkStale(e.EndPoint); // messages published while a connection was down were not received: check its guilds
        VerifyThenResume();
    }

    private void OnConfigurationChanged(object? sender, EndPointEventArgs e)
    {
        // A role changed (a failover): the new primary may lack writes the old one acknowledged.
        HoldAndMarkStale(e.EndPoint);
        VerifyThenResume();
    }

    /// <summary>
    /// Holds publishing and marks the feeds stale (checked again before publishing resumes): on a Redis Cluster, only
    /// the guilds whose slots <paramref name="endPoint"/> serves, so the guilds of the other nodes keep flowing;
    /// otherwise (one server, Sentinel, a node not known) every guild.
    /// </summary>
    private void HoldAndMarkStale(EndPoint? endPoint)
    {
        if (GuildsServedBy(endPoint) is { } guilds)
        {
            _outbox.Hold(guilds);
            _feeds.MarkStale(guilds);
        }
        else
        {
            _outbox.Hold();
            _feeds.MarkAllStale();
        }
    }

    /// <summary>On a Redis Cluster, whether a guild's slot is served by <paramref name="endPoint"/> (or by no known node); <see langword="null"/> when not a cluster.</summary>
    private Func<string, bool>? GuildsServedBy(EndPoint? endPoint)
    {
        if (endPoint is null || _connection is not { } connection)
        {
            return null;
        }

        var node = endPoint.ToString();
        var cluster = connection.GetServers().Where(s => s.IsConnected && s.ServerType == ServerType.Cluster).Select(s => s.ClusterConfiguration).FirstOrDefault(c => c is not null);
        return cluster is null
            ? null
            : guild => cluster.GetBySlot(connection.GetHashSlot(_keys.Meta(guild))) is not { } owner || owner.EndPoint?.ToString() == node;
    }

    /// <summary>A node answered READONLY or MASTERDOWN (the outbox holds already): re-read the roles now, not at the next periodic check.</summary>
    private void OnTopologyChanged(Exception ex)
    {
        _feeds.MarkAllStale();
        var now = _time.GetTimestamp();
        var last = Volatile.Read(ref _lastReconfigureAt);
        if ((last != 0 && _time.GetElapsedTime(last) < TimeSpan.FromMilliseconds(250)) || Interlocked.CompareExchange(ref _lastReconfigureAt, now, last) != last)
        {
            return; // one re-read at a time, at most four a second
        }

        Log.TopologyChanged(_logger, ex.Message);
        _ = ReconfigureThenResumeAsync();
    }

    private async Task ReconfigureThenResumeAsync()
    {
        try
        {
            if (_connection is { } connection)
            {
                await connection.ConfigureAsync().ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException)
        {
            _lastError = ex.Message; // the timer tries again
        }

        VerifyThenResume();
    }

    /// <summary>Once connected: checks every followed guild against the stream, then lets the outbox publish (held until then).</summary>
    private void VerifyThenResume()
    {
        if (Volatile.Read(ref _stopped) != 0 || _connection?.IsConnected != true || Interlocked.CompareExchange(ref _verifying, 1, 0) != 0)
        {
            return;
        }

        _ = VerifyThenResumeAsync();
    }

    private async Task VerifyThenResumeAsync()
    {
        try
        {
            if (await _feeds.VerifyAllAsync().ConfigureAwait(false))
            {
                _outbox.Resume();
            }
        }
        finally
        {
            Volatile.Write(ref _verifying, 0);
        }
    }

    /// <summary>Keeps publishing what waits until it is all out or the shutdown timeout passes, Redis coming back meanwhile included.</summary>
    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        var timeout = _options.ShutdownTimeout ?? TimeSpan.FromSeconds(5);
        var started = _time.GetTimestamp();
        while (_outbox.Count > 0 && _time.GetElapsedTime(started) < timeout && !cancellationToken.IsCancellationRequested)
        {
            if (_outbox.Held && _connection?.IsConnected == true)
            {
                // The feeds no longer check (stopping), so no hold waits for them: the publish script's own anchor
                // check still starts a new epoch over lost writes, and a READONLY reply holds again.
                _outbox.Resume();
            }

            _outbox.Kick();
            await Task.Delay(20, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private void ReportUnpublished()
    {
        if (_outbox.Count == 0)
        {
            return;
        }

        var waiting = _outbox.WaitingByGuild();
        var total = waiting.Sum(w => w.Count);
        _publishFailures.Add(total, new KeyValuePair<string, object?>("reason", "stopped"));
        Log.StoppedWithOutbox(_logger, total, waiting.Count, string.Join(", ", waiting.Take(20).Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.GuildId}: {w.Count}"))) + (waiting.Count > 20 ? ", …" : string.Empty));
    }

    // Event ids 1-4, 13 and 16; the outbox logs 5-7 and 15, the feeds 8-12, 14 and 17, with this same logger.
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Redis broker connected ({Configuration}); pub/sub: {PubSub}")]
        public static partial void Connected(ILogger logger, string configuration, string pubSub);

        [LoggerMessage(2, LogLevel.Warning, "Redis is unreachable at start-up ({Configuration}); the broker keeps trying, broadcasts wait in the outbox meanwhile")]
        public static partial void UnreachableAtStart(ILogger logger, string configuration);

        [LoggerMessage(3, LogLevel.Warning, "Redis connection lost ({ConnectionType}, {EndPoint}): {FailureType} {Message}; reconnecting")]
        public static partial void ConnectionLost(ILogger logger, ConnectionType connectionType, string endPoint, ConnectionFailureType failureType, string message);

        [LoggerMessage(4, LogLevel.Information, "Redis connection restored ({ConnectionType}, {EndPoint}); checking every subscribed guild's stream")]
        public static partial void ConnectionRestored(ILogger logger, ConnectionType connectionType, string endPoint);

        [LoggerMessage(20, LogLevel.Error, "{Reason} Nothing is published or received until the option is fixed")]
        public static partial void ShardedPubSubRefused(ILogger logger, string reason);

        [LoggerMessage(13, LogLevel.Error, "The Redis broker stopped with {Count} publication(s) of {Guilds} guild(s) never published (Redis did not take them within the shutdown timeout); no client will see them, none is told. Per guild: {PerGuild}")]
        public static partial void StoppedWithOutbox(ILogger logger, int count, int guilds, string perGuild);

        [LoggerMessage(16, LogLevel.Warning, "Redis answered that the node is not a writable primary ({Message}): re-reading the roles now; publishing waits for a writable primary")]
        public static partial void TopologyChanged(ILogger logger, string message);
    }
}
