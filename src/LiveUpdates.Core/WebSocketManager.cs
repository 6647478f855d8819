using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.WebSockets;
using LiveUpdates.Brokers;
using LiveUpdates.Internal;
using LiveUpdates.Internal.Admission;
using LiveUpdates.Internal.Brokers;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Dispatch;
using LiveUpdates.Internal.Naming;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Security;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Internal.Transport;
using LiveUpdates.Security;
using LiveUpdates.Transports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

// Just over our ~450-line guide: most of it is the XML docs of the public surface users call (start and stop, broadcast,
// access invalidation, health, a host transport's entry); the work itself is in Internal/.

namespace LiveUpdates;

/// <summary>
/// The LiveUpdates WebSocket server: owns a <see cref="HttpListener"/> on its own port, authenticates dashboard
/// sockets, keeps guild rooms and delivers broadcasts. Usable without dependency injection:
/// <c>await using var server = new WebSocketManager(options); await server.StartAsync();</c>.
/// </summary>
/// <remarks>
/// A manager starts once and stops once. <see cref="Broadcast(string, string, object?)"/> before
/// <see cref="StartAsync(CancellationToken)"/> or after <see cref="StopAsync(CancellationToken)"/> does nothing.
/// The pipeline, in order: the listener accepts and admits a request, a connection runs the socket's protocol, the
/// dispatcher hands broadcasts to the broker (which numbers them per guild and keeps the history) and fans the
/// broker's publications out to the guild rooms, and each client's writer sends them.
/// </remarks>
public sealed partial class WebSocketManager : IBroadcaster, IAsyncDisposable, IDisposable
{
    private const int Created = 0, Starting = 1, Running = 2, Stopping = 3, Stopped = 4;

    private readonly LiveUpdatesOptions _options;
    private readonly ServerContext _server;
    private readonly IBroker _broker;
    private readonly Dispatcher _dispatcher;
    private readonly ConnectionRegistry _connections;
    private readonly Action<ClientConnection> _connectionClosed;
    private readonly AdmissionPolicy _admission;
    private readonly ConnectionLimiter _limiter;
    private readonly WebSocketListener? _listener;
    private readonly LiveUpdatesMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly RoutedAcceptor _routed;
    private int _state;
    private Task _dispatchLoop = Task.CompletedTask;
    private Task? _stopTask;

    /// <summary>Creates a server. Nothing listens until <see cref="StartAsync(CancellationToken)"/>.</summary>
    /// <param name="options">The settings; they are validated here and must not be changed afterwards.</param>
    /// <param name="tokenValidator">Checks the tokens of <c>auth</c> messages; <see langword="null"/> for the built-in validator: connection tokens signed with <see cref="LiveUpdatesOptions.ConnectionTokenKey"/>, and, when <see cref="LiveUpdatesOptions.AcceptSessionTokens"/> is on, the dashboard's session tokens over <see cref="LiveUpdatesOptions.AuthSecret"/>.</param>
    /// <param name="guildAccessPolicy">Decides guild access; <see langword="null"/> for the built-in policy that reads <see cref="LiveUpdatesOptions.GuildsClaim"/>.</param>
    /// <param name="broker">Owns every guild's stream (numbering, history, delivery to every instance); <see langword="null"/> for the in-memory broker of one process.</param>
    /// <param name="loggerFactory">Creates the server's loggers, one category per component; <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock for timeouts, token lifetimes and timestamps; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <param name="meterFactory">Creates the <c>LiveUpdates</c> meter; <see langword="null"/> for a meter the server creates and disposes itself.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message lists what to fix.</exception>
    public WebSocketManager(
        LiveUpdatesOptions options,
        ITokenValidator? tokenValidator = null,
        IGuildAccessPolicy? guildAccessPolicy = null,
        IBroker? broker = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        LiveUpdatesOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<WebSocketManager>();
        _connections = new ConnectionRegistry(_time);
        _connectionClosed = _connections.Remove;
        _metrics = new LiveUpdatesMetrics(_connections.SendQueueDepth, meterFactory);
        _broker = broker ?? new InMemoryBroker(options.HistoryCapacity, options.HistoryMaxAge, _time);
        var rooms = new RoomStore();
        var accessPolicy = guildAccessPolicy ?? new TokenClaimGuildAccessPolicy(options);
        var stopping = new CancellationTokenSource();
        _dispatcher = new Dispatcher(options, rooms, _broker, accessPolicy, _time, loggerFactory.CreateLogger<Dispatcher>(), _metrics, stopping.Token);
        _dispatcher.ControlReceived = OnControlMessage;
        _server = new ServerContext(
            options,
            tokenValidator ?? new DefaultTokenValidator(options, _time),
            accessPolicy,
            _time,
            loggerFactory,
            rooms,
            _dispatcher,
            _metrics,
            stopping);
        _admission = new AdmissionPolicy(options);
        _limiter = new ConnectionLimiter(options.MaxConnections, options.MaxConnectionsPerAddress);
        _routed = new RoutedAcceptor(options, _admission, _limiter, _time, loggerFactory.CreateLogger<WebSocketUpgrade>(), () => IsRunning, RunConnectionAsync);
        _listener = options.HttpListenerEnabled
            ? new WebSocketListener(options, _admission, _limiter, _time, loggerFactory.CreateLogger<WebSocketListener>(), () => IsRunning, RunConnectionAsync)
            : null;
    }

    /// <summary>Gets a value indicating whether the server is accepting connections and delivering broadcasts.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <summary>Gets the number of open WebSocket connections.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// Gets the <see cref="HttpListener"/> prefix the server listens on, e.g. <c>http://+:3002/</c>; empty when
    /// <see cref="LiveUpdatesOptions.HttpListenerEnabled"/> is <see langword="false"/> (the host's server takes the sockets).
    /// </summary>
    public string Prefix => _listener?.Prefix ?? string.Empty;

    /// <summary>Starts listening, the broker, the dispatcher and the liveness checks.</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when the server is listening.</returns>
    /// <exception cref="InvalidOperationException">The server was already started, or the port cannot be bound (the message says which port and what to change).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Starting, Created) != Created)
        {
            throw new InvalidOperationException("This WebSocketManager has already been started; a manager starts once. Create a new one to start again.");
        }

        try
        {
            _listener?.Bind();
            await _broker.StartAsync(_dispatcher, cancellationToken).ConfigureAwait(false);
            await WatchControlStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _state, Stopped);
            _listener?.Unbind();
            throw;
        }

        _dispatchLoop = Task.Run(_dispatcher.RunAsync, CancellationToken.None);
        _listener?.StartAccepting();
        _connections.StartSweeping(_options.LivenessCheckInterval);
        Volatile.Write(ref _state, Running);
        StartupSummary.Log(_logger, _options, _listener?.Hosts, _server.AccessPolicy, _broker);
    }

    /// <summary>
    /// Stops the server: every client gets close status 1001 (going away), clients that do not answer within
    /// <see cref="LiveUpdatesOptions.ShutdownTimeout"/> are aborted, then the listener, dispatcher and broker stop.
    /// Every socket is disposed when the returned task completes.
    /// </summary>
    /// <param name="cancellationToken">When cancelled, open clients are aborted at once instead of waited for.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            switch (state)
            {
                case Created:
                    if (Interlocked.CompareExchange(ref _state, Stopped, Created) == Created)
                    {
                        return Task.CompletedTask;
                    }

                    continue;
                case Running:
                    if (Interlocked.CompareExchange(ref _state, Stopping, Running) == Running)
                    {
                        return Volatile.Read(ref _stopTask) ?? Interlocked.CompareExchange(ref _stopTask, StopCoreAsync(cancellationToken), null) ?? _stopTask!;
                    }

                    continue;
                case Starting:
                    return Task.FromException(new InvalidOperationException("The server is still starting; await StartAsync before stopping it."));
                default:
                    return SpinUntilStopTask();
            }
        }
    }

    /// <summary>
    /// Re-checks every open subscription of <paramref name="guildId"/> after its dashboard permissions changed:
    /// users who lost the guild are unsubscribed with <see cref="LiveErrorCodes.Forbidden"/>, and the others' feature
    /// filters are replaced, without reconnecting. Broadcasting <see cref="LiveEvents.Dashboard.PermissionsUpdated"/>
    /// does the same. Events broadcast after the returned task completes are filtered with the new permissions.
    /// With a broker shared by several instances (Redis), the call also broadcasts
    /// <see cref="LiveEvents.Dashboard.PermissionsUpdated"/> to the guild, so that every instance re-checks its own
    /// clients at that point of the guild's stream; the returned task covers this instance's clients.
    /// </summary>
    /// <param name="guildId">The guild whose permissions changed.</param>
    /// <param name="cancellationToken">Stops waiting (the re-check still happens).</param>
    /// <returns>A task that completes when the guild's subscriptions have been re-checked.</returns>
    /// <exception cref="ArgumentException">The guild id is malformed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public Task InvalidateGuildAccessAsync(string guildId, CancellationToken cancellationToken = default)
    {
        LiveNames.ThrowIfInvalidGuildId(guildId);
        if (Volatile.Read(ref _state) != Running)
        {
            return Task.CompletedTask;
        }

        var local = _dispatcher.ReauthorizeAsync(guildId, null, cancellationToken);
        if ((_broker.Capabilities & BrokerCapabilities.Shared) != 0)
        {
            Broadcast(guildId, LiveEvents.Dashboard.PermissionsUpdated); // the other instances re-check in stream order
        }

        return local;
    }

    /// <summary>
    /// Re-checks every open subscription of <paramref name="guildId"/>, given as the <see cref="ulong"/> snowflake that
    /// .NET Discord libraries hand out; see <see cref="InvalidateGuildAccessAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <param name="guildId">The guild whose permissions changed.</param>
    /// <param name="cancellationToken">Stops waiting (the re-check still happens).</param>
    /// <returns>A task that completes when the guild's subscriptions have been re-checked.</returns>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public Task InvalidateGuildAccessAsync(ulong guildId, CancellationToken cancellationToken = default) =>
        InvalidateGuildAccessAsync(guildId.ToString(CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>
    /// Re-checks one member's subscriptions to <paramref name="guildId"/> after their access may have changed — call it
    /// from the bot's Discord event handlers when a member leaves, is kicked or banned, or their roles change. If the
    /// access policy no longer allows the guild, that user's sockets are unsubscribed with
    /// <see cref="LiveErrorCodes.Forbidden"/> and receive nothing broadcast after the call; otherwise their feature
    /// filters are replaced. Other members are not re-checked. With a broker shared by several instances (Redis), the
    /// call also broadcasts <see cref="LiveEvents.Dashboard.MemberAccessUpdated"/> to the guild, so that every instance
    /// re-checks that user's sockets at that point of the guild's stream; the returned task covers this instance's.
    /// </summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="userId">The member's user id, as the access policy knows users (<see cref="AuthenticatedUser.UserId"/>).</param>
    /// <param name="cancellationToken">Stops waiting (the re-check still happens).</param>
    /// <returns>A task that completes when the member's subscriptions on this instance have been re-checked.</returns>
    /// <exception cref="ArgumentException">The guild id is malformed or the user id is empty.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the ids' type (string or ulong), never in which arguments may be left out.")]
    public Task InvalidateMemberAccessAsync(string guildId, string userId, CancellationToken cancellationToken = default)
    {
        LiveNames.ThrowIfInvalidGuildId(guildId);
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (Volatile.Read(ref _state) != Running)
        {
            return Task.CompletedTask;
        }

        var local = _dispatcher.ReauthorizeAsync(guildId, userId, cancellationToken);
        if ((_broker.Capabilities & BrokerCapabilities.Shared) != 0)
        {
            Broadcast(guildId, LiveEvents.Dashboard.MemberAccessUpdated, new MemberAccessChange(userId)); // every instance, in stream order
        }

        return local;
    }

    /// <summary>
    /// Re-checks one member's subscriptions to a guild, with the <see cref="ulong"/> snowflakes .NET Discord libraries
    /// hand out; see <see cref="InvalidateMemberAccessAsync(string, string, CancellationToken)"/>.
    /// </summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="userId">The member's Discord user id.</param>
    /// <param name="cancellationToken">Stops waiting (the re-check still happens).</param>
    /// <returns>A task that completes when the member's subscriptions on this instance have been re-checked.</returns>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the ids' type (string or ulong), never in which arguments may be left out.")]
    public Task InvalidateMemberAccessAsync(ulong guildId, ulong userId, CancellationToken cancellationToken = default) =>
        InvalidateMemberAccessAsync(guildId.ToString(CultureInfo.InvariantCulture), userId.ToString(CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>Stops the server if it is running; see <see cref="StopAsync(CancellationToken)"/>.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>
    /// Stops the server if it is running, blocking the caller (for containers disposed synchronously); prefer
    /// <see cref="DisposeAsync"/>. Stopping is bounded by <see cref="LiveUpdatesOptions.ShutdownTimeout"/>.
    /// </summary>
    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    /// <summary>
    /// Reports whether the server is really delivering: running and listening, the dispatch loop alive and not lagging
    /// behind by more than <see cref="LiveUpdatesOptions.HealthDispatchLagThreshold"/> (unhealthy past it: work waits
    /// and the loop has made no progress), and the broker and the access policy's store reachable when they report
    /// their health (<see cref="IDependencyHealth"/>; degraded when not). Cheap: safe to call from a health endpoint on every probe.
    /// </summary>
    /// <returns>A snapshot.</returns>
    public LiveUpdatesHealth GetHealth()
    {
        var running = IsRunning && !_dispatchLoop.IsCompleted;
        var lag = _dispatcher.Lag;
        var broker = (_broker as IDependencyHealth)?.GetHealth();
        var accessPolicy = (_server.AccessPolicy as IDependencyHealth)?.GetHealth();
        var (status, description) =
            !IsRunning ? (LiveUpdatesHealthStatus.Unhealthy, "The LiveUpdates server is not running.")
            : !running ? (LiveUpdatesHealthStatus.Unhealthy, "The dispatch loop has stopped: broadcasts are not delivered.")
            : lag > _options.HealthDispatchLagThreshold ? (LiveUpdatesHealthStatus.Unhealthy, $"The dispatch loop has made no progress for {lag.TotalSeconds:0.0} s with {_dispatcher.QueueLength} item(s) waiting: broadcasts are not delivered.")
            : broker is { IsAvailable: false } ? (LiveUpdatesHealthStatus.Degraded, $"The broker is not connected ({broker.Description}); local delivery goes on.")
            : accessPolicy is { IsAvailable: false } ? (LiveUpdatesHealthStatus.Degraded, $"The permission store is not reachable ({accessPolicy.Description}); subscriptions that need it are refused.")
            : lag > _options.HealthDispatchLagThreshold / 4 ? (LiveUpdatesHealthStatus.Degraded, $"The dispatch loop lags {lag.TotalMilliseconds:0} ms behind.")
            : (LiveUpdatesHealthStatus.Healthy, $"{(_listener is null ? "Accepting sockets from the host's endpoint" : $"Listening on {Prefix}")}; {_connections.Count} connection(s).");
        return new LiveUpdatesHealth(status, description, IsRunning, _connections.Count, _dispatcher.QueueLength, lag, broker, accessPolicy);
    }

    /// <summary>
    /// Admits and runs one WebSocket that a transport other than the server's own <see cref="HttpListener"/> received
    /// (the <c>LiveUpdates.AspNetCore</c> endpoint calls it): the same admission decision as the listener's (the
    /// server's state, <see cref="LiveUpdatesOptions.AllowedOrigins"/>, <see cref="LiveUpdatesOptions.MaxConnections"/>
    /// and <see cref="LiveUpdatesOptions.MaxConnectionsPerAddress"/>), then either
    /// <see cref="WebSocketUpgrade.RefuseAsync"/> or <see cref="WebSocketUpgrade.AcceptAsync"/> within
    /// <see cref="LiveUpdatesOptions.HandshakeTimeout"/>, then the connection's whole life: the protocol, delivery,
    /// liveness and the close. The same options, metrics and health apply as to sockets from the listener.
    /// </summary>
    /// <param name="upgrade">The request, as the transport sees it.</param>
    /// <param name="cancellationToken">Cancels a refusal or a handshake still under way; a running connection ends by its protocol or the server's stop, not by this token.</param>
    /// <returns>A task that completes when the request was refused, or when the connection has ended and been cleaned up.</returns>
    public Task AcceptAsync(WebSocketUpgrade upgrade, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(upgrade);
        return _routed.AcceptAsync(upgrade, cancellationToken);
    }

    /// <summary>Completes when every broadcast made before the call has been handed to its recipients' queues.</summary>
    internal Task FlushAsync() => _dispatcher.FlushAsync();

    // Internal seams through which the tests observe the server's state (nothing in the product reads them).
    internal IReadOnlyCollection<ClientConnection> Connections => _connections.Snapshot();

    internal int RoomCount => _server.Rooms.RoomCount;

    internal Meter Meter => _metrics.Meter;

    internal string Epoch => (_broker as InMemoryBroker)?.Epoch ?? string.Empty;

    internal InMemoryBroker? InMemoryBroker => _broker as InMemoryBroker;

    // Not async: the connection's own RunAsync is the task a transport waits on for the connection's life, so no
    // state machine of this method is held per connection (144 bytes). RunAsync never throws.
    private Task RunConnectionAsync(AcceptedSocket accepted)
    {
        // One callback for every connection (the transport's release gives the admission slot back): no closure per connection.
        var connection = new ClientConnection(_server, accepted.Socket, accepted.Transport, _connectionClosed);
        _connections.Add(connection);
        if (Volatile.Read(ref _state) != Running)
        {
            connection.RequestClose(WebSocketCloseStatus.EndpointUnavailable, ProtocolNames.CloseServerShutdown, drainFirst: false);
        }

        return connection.RunAsync();
    }

    private async Task SpinUntilStopTask()
    {
        // Another caller moved the state to Stopping and is about to publish the stop task.
        Task? task;
        while ((task = Volatile.Read(ref _stopTask)) is null)
        {
            if (Volatile.Read(ref _state) == Stopped)
            {
                return;
            }

            await Task.Yield();
        }

        await task.ConfigureAwait(false);
    }

    private async Task StopCoreAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        await _server.Stopping.CancelAsync().ConfigureAwait(false);
        var deadline = _time.GetTimestamp();
        try
        {
            // Broadcasts accepted before the stop still reach the clients: the dispatcher hands them to the queues,
            // and each client gets what is queued before its 1001 close, all within ShutdownTimeout.
            await _dispatcher.FlushAsync().WaitAsync(_options.ShutdownTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or InvalidOperationException)
        {
            // A dispatcher that cannot flush in time (or a full queue) does not hold the stop.
        }

        _connections.CloseAll(WebSocketCloseStatus.EndpointUnavailable, ProtocolNames.CloseServerShutdown, drainFirst: !cancellationToken.IsCancellationRequested);
        try
        {
            var left = _options.ShutdownTimeout - _time.GetElapsedTime(deadline);
            await _connections.WhenAllClosed().WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Clients that did not answer the close frame in time are aborted below.
        }

        // Anything still open (including a socket accepted while stopping) is aborted; that completes promptly.
        var aborted = _connections.AbortAll();
        await _connections.WhenAllClosed().ConfigureAwait(false);
        if (_listener is not null)
        {
            await _listener.StopAsync().ConfigureAwait(false);
        }
        await _connections.DisposeAsync().ConfigureAwait(false);
        _dispatcher.Complete();
        await _dispatchLoop.ConfigureAwait(false);
        try
        {
            await _broker.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _server.Stopping.Dispose();
            _metrics.Dispose();
            Volatile.Write(ref _state, Stopped);
            Log.Stopped(_logger, aborted);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(2, LogLevel.Information, "LiveUpdates WebSocket server stopped; {Aborted} connection(s) had to be aborted")]
        public static partial void Stopped(ILogger logger, int aborted);

        [LoggerMessage(14, LogLevel.Debug, "Broadcast of {EventName} for guild {GuildId} ignored: the server is not running")]
        public static partial void NotRunning(ILogger logger, string eventName, string guildId);
    }

    /// <summary>The payload of <see cref="LiveEvents.Dashboard.MemberAccessUpdated"/>.</summary>
    private sealed record MemberAccessChange(string UserId);
}
