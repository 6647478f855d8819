using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Backplane;
using LiveUpdates.Internal;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Naming;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Security;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveUpdates;

/// <summary>
/// The LiveUpdates WebSocket server: owns a <see cref="HttpListener"/> on its own port, authenticates dashboard
/// sockets, keeps guild rooms and delivers broadcasts. Usable without dependency injection:
/// <c>await using var server = new WebSocketManager(options); await server.StartAsync();</c>.
/// </summary>
/// <remarks>
/// A manager starts once and stops once. <see cref="Broadcast(string, string, object?)"/> before
/// <see cref="StartAsync(CancellationToken)"/> or after <see cref="StopAsync(CancellationToken)"/> does nothing.
/// </remarks>
public sealed class WebSocketManager : IBroadcaster, IAsyncDisposable, IDisposable
{
    private const int Created = 0, Starting = 1, Running = 2, Stopping = 3, Stopped = 4;

    private readonly LiveUpdatesOptions _options;
    private readonly ServerContext _server;
    private readonly IBackplane _backplane;
    private readonly EventDispatcher _dispatcher;
    private readonly LiveUpdatesMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly ConcurrentDictionary<string, int> _connectionsPerAddress = new(StringComparer.Ordinal);
    private readonly HashSet<string> _allowedOrigins;
    private readonly HashSet<IPAddress> _trustedProxies;
    private int _connectionSlots;
    private readonly string _path;
    private int _state;
    private int _sweeping;
    private HttpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private Task _dispatchLoop = Task.CompletedTask;
    private ITimer? _livenessTimer;
    private Task? _stopTask;

    /// <summary>Creates a server. Nothing listens until <see cref="StartAsync(CancellationToken)"/>.</summary>
    /// <param name="options">The settings; they are validated here and must not be changed afterwards.</param>
    /// <param name="tokenValidator">Checks session tokens; <see langword="null"/> for the built-in validator of HS256 JWTs, NextAuth v4 and Auth.js v5 session tokens over <see cref="LiveUpdatesOptions.AuthSecret"/> and <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/>.</param>
    /// <param name="guildAccessPolicy">Decides guild access; <see langword="null"/> for the built-in policy that reads <see cref="LiveUpdatesOptions.GuildsClaim"/>.</param>
    /// <param name="backplane">Carries broadcasts between instances; <see langword="null"/> for in-process delivery.</param>
    /// <param name="loggerFactory">Creates the server's logger; <see langword="null"/> for none.</param>
    /// <param name="timeProvider">The clock for timeouts, token lifetimes and timestamps; <see langword="null"/> for <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">The options are invalid; the message lists what to fix.</exception>
    public WebSocketManager(
        LiveUpdatesOptions options,
        ITokenValidator? tokenValidator = null,
        IGuildAccessPolicy? guildAccessPolicy = null,
        IBackplane? backplane = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        LiveUpdatesOptionsValidator.ThrowIfInvalid(options);
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("LiveUpdates.WebSocketManager");
        _metrics = new LiveUpdatesMetrics(SendQueueDepth);
        var rooms = new RoomStore();
        var accessPolicy = guildAccessPolicy ?? new TokenClaimGuildAccessPolicy(options);
        _dispatcher = new EventDispatcher(options, rooms, accessPolicy, _time, _logger, _metrics);
        _server = new ServerContext(
            options,
            tokenValidator ?? new SessionTokenValidator(options, _time),
            accessPolicy,
            _time,
            _logger,
            rooms,
            _dispatcher,
            _metrics);
        _backplane = backplane ?? new InProcessBackplane();
        _path = options.Path.Length > 1 ? options.Path.TrimEnd('/') : "/";
        _allowedOrigins = new HashSet<string>(options.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
        _trustedProxies = [.. options.TrustedProxies.Select(IPAddress.Parse)];
    }

    /// <summary>Gets a value indicating whether the server is accepting connections and delivering broadcasts.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == Running;

    /// <summary>Gets the number of open WebSocket connections.</summary>
    public int ConnectionCount => _connections.Count;

    /// <summary>Gets the <see cref="HttpListener"/> prefix the server listens on, e.g. <c>http://+:3002/</c>.</summary>
    public string Prefix => $"http://{_options.Host}:{_options.Port}/";

    internal EventDispatcher Dispatcher => _dispatcher;

    internal ICollection<ClientConnection> Connections => _connections.Values;

    internal int RoomCount => _server.Rooms.RoomCount;

    internal string Epoch => _dispatcher.Epoch;

    internal System.Diagnostics.Metrics.Meter Meter => _metrics.Meter;

    /// <summary>Starts listening, the backplane, the dispatcher and the liveness checks.</summary>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when the server is listening.</returns>
    /// <exception cref="InvalidOperationException">The server was already started, or the port cannot be bound (the message says which port and what to change).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Starting, Created) != Created)
        {
            throw new InvalidOperationException("This WebSocketManager has already been started; a manager starts once. Create a new one to start again.");
        }

        var listener = new HttpListener { IgnoreWriteExceptions = true };
        listener.Prefixes.Add(Prefix);
        try
        {
            listener.Start();
        }
        catch (HttpListenerException ex)
        {
            Volatile.Write(ref _state, Stopped);
            ((IDisposable)listener).Dispose();
            throw new InvalidOperationException(
                $"LiveUpdates could not listen on {Prefix}: {ex.Message}. Another process may be using port {_options.Port}; set {LiveUpdatesOptions.SectionName}:Port (environment variable WS_PORT) to a free port.",
                ex);
        }

        try
        {
            await _backplane.StartAsync(DeliverLocally, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Volatile.Write(ref _state, Stopped);
            listener.Close();
            throw;
        }

        _listener = listener;
        _dispatchLoop = Task.Run(_dispatcher.RunAsync, CancellationToken.None);
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener), CancellationToken.None);
        _livenessTimer = _time.CreateTimer(static s => ((WebSocketManager)s!).CheckLiveness(), this, _options.LivenessCheckInterval, _options.LivenessCheckInterval);
        Volatile.Write(ref _state, Running);
        Log.Listening(_logger, Prefix);
    }

    /// <inheritdoc/>
    public void Broadcast(string guildId, string eventName, object? data = null)
    {
        LiveNames.ThrowIfInvalidGuildId(guildId);
        LiveNames.ThrowIfInvalidEventName(eventName);
        if (Volatile.Read(ref _state) != Running)
        {
            Log.NotRunning(_logger, eventName, guildId);
            return;
        }

        var payload = EnvelopeSerializer.SerializeData(eventName, data, _options.SerializerOptions);
        _metrics.EventsBroadcast.Add(1);
        try
        {
            _backplane.Publish(new BackplaneMessage(guildId, eventName, payload, _time.GetUtcNow().ToUnixTimeMilliseconds()));
        }
        catch (Exception ex)
        {
            // A backplane must not throw, but if one does the plugin's write has still succeeded: log, never rethrow.
            Log.DispatchFailed(_logger, ex, eventName, guildId);
        }
    }

    /// <inheritdoc/>
    public IRoomEmitter To(string room) => new RoomEmitter(this, LiveNames.GuildIdFromRoom(room));

    /// <summary>
    /// Stops the server: every client gets close status 1001 (going away), clients that do not answer within
    /// <see cref="LiveUpdatesOptions.ShutdownTimeout"/> are aborted, then the listener, dispatcher and backplane stop.
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
    /// </summary>
    /// <param name="guildId">The guild whose permissions changed.</param>
    /// <param name="cancellationToken">Stops waiting (the re-check still happens).</param>
    /// <returns>A task that completes when the guild's subscriptions have been re-checked.</returns>
    /// <exception cref="ArgumentException">The guild id is malformed.</exception>
    public Task InvalidateGuildAccessAsync(string guildId, CancellationToken cancellationToken = default)
    {
        LiveNames.ThrowIfInvalidGuildId(guildId);
        if (Volatile.Read(ref _state) != Running)
        {
            return Task.CompletedTask;
        }

        return _dispatcher.ReauthorizeAsync(guildId, cancellationToken);
    }

    /// <summary>Stops the server if it is running; see <see cref="StopAsync(CancellationToken)"/>.</summary>
    /// <returns>A task that completes when the server has stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>
    /// Stops the server if it is running, blocking the caller (for containers disposed synchronously); prefer
    /// <see cref="DisposeAsync"/>. Stopping is bounded by <see cref="LiveUpdatesOptions.ShutdownTimeout"/>.
    /// </summary>
    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    /// <summary>Completes when every broadcast made before the call has been handed to its recipients' queues.</summary>
    internal Task FlushAsync() => _dispatcher.FlushAsync();

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

        var aborted = 0;
        foreach (var connection in _connections.Values)
        {
            connection.RequestClose(WebSocketCloseStatus.EndpointUnavailable, ProtocolNames.CloseServerShutdown, drainFirst: false);
        }

        try
        {
            await Task.WhenAll(_connections.Values.Select(c => c.Completion))
                .WaitAsync(_options.ShutdownTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            // Clients that did not answer the close frame in time are aborted below.
        }

        // Anything still open (including a socket accepted while stopping) is aborted; that completes promptly.
        foreach (var connection in _connections.Values)
        {
            aborted++;
            connection.Abort();
        }

        await Task.WhenAll(_connections.Values.Select(c => c.Completion)).ConfigureAwait(false);

        var listener = _listener;
        if (listener is not null)
        {
            listener.Stop();
            listener.Close();
        }

        await _acceptLoop.ConfigureAwait(false);
        if (_livenessTimer is not null)
        {
            await _livenessTimer.DisposeAsync().ConfigureAwait(false);
        }

        _dispatcher.Complete();
        await _dispatchLoop.ConfigureAwait(false);
        try
        {
            await _backplane.StopAsync(CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _server.Stopping.Dispose();
            _metrics.Dispose();
            Volatile.Write(ref _state, Stopped);
            Log.Stopped(_logger, aborted);
        }
    }

    private void DeliverLocally(BackplaneMessage message)
    {
        if (Volatile.Read(ref _state) == Running)
        {
            _dispatcher.Post(message);
        }
    }

    private async Task AcceptLoopAsync(HttpListener listener)
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (Volatile.Read(ref _state) >= Stopping || !listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException ex)
            {
                Log.AcceptFailed(_logger, ex, null);
                continue;
            }

            _ = HandleContextSafelyAsync(context);
        }
    }

    private async Task HandleContextSafelyAsync(HttpListenerContext context)
    {
        try
        {
            await HandleContextAsync(context).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.AcceptFailed(_logger, ex, context.Request.RemoteEndPoint?.ToString());
            context.Response.Abort();
        }
    }

    private async Task HandleContextAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var remote = request.RemoteEndPoint?.ToString();
        var path = request.Url?.AbsolutePath ?? "/";
        if (path.Length > 1)
        {
            path = path.TrimEnd('/');
        }

        if (!string.Equals(path, _path, StringComparison.Ordinal))
        {
            Refuse(context, HttpStatusCode.NotFound, $"Not found. LiveUpdates accepts WebSocket connections at {_path}.", remote);
            return;
        }

        if (Volatile.Read(ref _state) != Running)
        {
            Refuse(context, HttpStatusCode.ServiceUnavailable, "The LiveUpdates server is shutting down.", remote);
            return;
        }

        if (!request.IsWebSocketRequest)
        {
            context.Response.AddHeader("Upgrade", "websocket");
            Refuse(context, HttpStatusCode.UpgradeRequired, "This endpoint speaks WebSocket only: connect with a WebSocket client (ws://).", remote);
            return;
        }

        var origin = request.Headers["Origin"];
        if (_allowedOrigins.Count > 0 && origin is not null && !_allowedOrigins.Contains(origin))
        {
            Refuse(context, HttpStatusCode.Forbidden, "This origin may not open a LiveUpdates socket.", remote);
            return;
        }

        // Limits are taken before the upgrade, so a refused client costs no WebSocket.
        if (Interlocked.Increment(ref _connectionSlots) > _options.MaxConnections)
        {
            Interlocked.Decrement(ref _connectionSlots);
            Refuse(context, HttpStatusCode.ServiceUnavailable, "The server holds as many connections as it may; try again later.", remote);
            return;
        }

        var address = ClientAddress(request);
        if (_connectionsPerAddress.AddOrUpdate(address, 1, static (_, n) => n + 1) > _options.MaxConnectionsPerAddress)
        {
            ReleaseSlot(address);
            Refuse(context, HttpStatusCode.TooManyRequests, "Too many connections from this address.", remote);
            return;
        }

        WebSocket socket;
        try
        {
            var webSocketContext = await context.AcceptWebSocketAsync(subProtocol: null, _options.ReceiveBufferBytes, _options.KeepAliveInterval)
                .WaitAsync(_options.HandshakeTimeout, _time).ConfigureAwait(false);
            socket = webSocketContext.WebSocket;
        }
        catch (Exception ex)
        {
            ReleaseSlot(address);
            Log.AcceptFailed(_logger, ex, remote);
            context.Response.Abort();
            return;
        }

        var connection = new ClientConnection(_server, context, socket, c =>
        {
            _connections.TryRemove(c.Id, out _);
            ReleaseSlot(address);
        });
        _connections[connection.Id] = connection;
        if (Volatile.Read(ref _state) != Running)
        {
            connection.RequestClose(WebSocketCloseStatus.EndpointUnavailable, ProtocolNames.CloseServerShutdown, drainFirst: false);
        }

        await connection.RunAsync().ConfigureAwait(false);
    }

    /// <summary>The client's address: the remote end point, or the last <c>X-Forwarded-For</c> entry when the remote is a trusted proxy.</summary>
    private string ClientAddress(HttpListenerRequest request)
    {
        var remote = request.RemoteEndPoint?.Address;
        if (remote is not null && _trustedProxies.Contains(remote) &&
            request.Headers["X-Forwarded-For"] is { Length: > 0 } forwarded)
        {
            var last = forwarded[(forwarded.LastIndexOf(',') + 1)..].Trim();
            if (IPAddress.TryParse(last, out var client))
            {
                return client.ToString();
            }
        }

        return remote?.ToString() ?? "unknown";
    }

    private void ReleaseSlot(string address)
    {
        Interlocked.Decrement(ref _connectionSlots);
        while (_connectionsPerAddress.TryGetValue(address, out var count))
        {
            if (count <= 1
                ? _connectionsPerAddress.TryRemove(new KeyValuePair<string, int>(address, count))
                : _connectionsPerAddress.TryUpdate(address, count - 1, count))
            {
                return;
            }
        }
    }

    private void Refuse(HttpListenerContext context, HttpStatusCode status, string message, string? remote)
    {
        Log.HttpRefused(_logger, context.Request.HttpMethod, context.Request.Url?.AbsolutePath, remote, (int)status);
        try
        {
            var body = Encoding.UTF8.GetBytes(message + "\n");
            var response = context.Response;
            response.StatusCode = (int)status;
            response.ContentType = "text/plain; charset=utf-8";
            response.ContentLength64 = body.Length;
            response.OutputStream.Write(body);
            response.Close();
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            context.Response.Abort();
        }
    }

    private (long Total, long Max) SendQueueDepth()
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

    private void CheckLiveness()
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

    private sealed class RoomEmitter(WebSocketManager manager, string guildId) : IRoomEmitter
    {
        public void Emit(string eventName, object? data = null) => manager.Broadcast(guildId, eventName, data);
    }
}
