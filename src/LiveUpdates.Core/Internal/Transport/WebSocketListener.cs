using System.Net;
using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Internal.Admission;
using LiveUpdates.Internal.Connections;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Transport;

/// <summary>
/// A socket a transport accepted, handed to the server with the transport's handle for it (which tells the peer's end
/// point for logs, and whose <see cref="IConnectionTransport.Release"/> also gives the admission slot back).
/// </summary>
internal readonly record struct AcceptedSocket(WebSocket Socket, IConnectionTransport Transport);

/// <summary>
/// The HTTP side of the server, called by the server's start and stop and otherwise only from its own accept loop and
/// the thread-pool items it queues: owns the <see cref="HttpListener"/>, runs the accept loop, asks admission about every request, refuses with
/// a plain-text status, and upgrades the admitted ones within <c>HandshakeTimeout</c>.
/// </summary>
internal sealed partial class WebSocketListener
{
    private readonly LiveUpdatesOptions _options;
    private readonly AdmissionPolicy _admission;
    private readonly ConnectionLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogThrottles _refusalLog;
    private readonly Func<bool> _isRunning;
    private readonly Func<AcceptedSocket, Task> _onAccepted;
    private HttpListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private volatile bool _stopping;

    public WebSocketListener(LiveUpdatesOptions options, AdmissionPolicy admission, ConnectionLimiter limiter, TimeProvider time, ILogger<WebSocketListener> logger, Func<bool> isRunning, Func<AcceptedSocket, Task> onAccepted)
    {
        _options = options;
        _admission = admission;
        _limiter = limiter;
        _time = time;
        _logger = logger;
        _refusalLog = new LogThrottles(time);
        _isRunning = isRunning;
        _onAccepted = onAccepted;
    }

    /// <summary>Gets the main <see cref="HttpListener"/> prefix, e.g. <c>http://+:3002/</c> (see <see cref="ListenerHost"/> for the host).</summary>
    public string Prefix => $"http://{ListenerHost.Normalize(_options.Host)}:{_options.Port}/";

    /// <summary>Gets the hosts registered once bound: the configured one, and for a loopback host its twin when that could be bound too.</summary>
    public IReadOnlyList<string> Hosts { get; private set; } = [];

    /// <summary>Binds the port; throws <see cref="InvalidOperationException"/> saying which port or host and what to change.</summary>
    public void Bind()
    {
        var hosts = ListenerHost.Hosts(_options.Host);
        HttpListener? listener = null;
        if (hosts.Count > 1)
        {
            try
            {
                listener = Start(hosts);
            }
            catch (HttpListenerException)
            {
                // The loopback twin is a convenience: where it cannot be bound (say, localhost resolves to an IPv6
                // loopback that is switched off), the configured host alone is what was asked for.
                hosts = [hosts[0]];
            }
        }

        _listener = listener ?? TryStart(hosts);
        Hosts = hosts;
    }

    private HttpListener TryStart(IReadOnlyList<string> hosts)
    {
        try
        {
            return Start(hosts);
        }
        catch (HttpListenerException ex)
        {
            throw new InvalidOperationException($"LiveUpdates could not listen on {Prefix}: {ex.Message.TrimEnd('.')}. {BindAdvice(ex)}", ex);
        }
    }

    private HttpListener Start(IReadOnlyList<string> hosts)
    {
        var listener = new HttpListener { IgnoreWriteExceptions = true };
        foreach (var host in hosts)
        {
            listener.Prefixes.Add($"http://{host}:{_options.Port}/");
        }

        try
        {
            listener.Start();
            return listener;
        }
        catch
        {
            ((IDisposable)listener).Dispose();
            throw;
        }
    }

    /// <summary>
    /// The likely fix: the host when HttpListener could not use it (not an address of this machine, or a name it cannot
    /// resolve), else the port (taken by another process, or by another listener in this one).
    /// </summary>
    private string BindAdvice(HttpListenerException ex)
    {
        const string S = LiveUpdatesOptions.SectionName;
        if (ex.ErrorCode is AddressNotAvailable or AddressNotAvailableWindows or NotSupported && !ListenerHost.IsEveryAddress(_options.Host))
        {
            return $"{S}:Host is '{_options.Host}': set it to '+' for every address, or to a host name or IP address of this machine such as 'localhost' or '127.0.0.1'.";
        }

        return $"Another process may be using port {_options.Port}; set {S}:Port (environment variable WS_PORT) to a free port.";
    }

    /// <summary>Closes a bound listener that never started accepting (start-up failed later).</summary>
    public void Unbind() => _listener?.Close();

    public void StartAccepting() => _acceptLoop = Task.Run(() => AcceptLoopAsync(_listener!), CancellationToken.None);

    /// <summary>Stops accepting and closes the listener; completes when the accept loop has ended.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        if (_listener is { } listener)
        {
            listener.Stop();
            listener.Close();
        }

        await _acceptLoop.ConfigureAwait(false);
    }

    // EADDRNOTAVAIL (Linux; WSAEADDRNOTAVAIL on Windows): the host is no address of this machine. ERROR_NOT_SUPPORTED:
    // HttpListener could not resolve the host, or was given 0.0.0.0 (which ListenerHost maps to '+' beforehand).
    private const int AddressNotAvailable = 99, AddressNotAvailableWindows = 10049, NotSupported = 50;

    private async Task AcceptLoopAsync(HttpListener listener)
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync().ConfigureAwait(false);
            }
            catch (Exception) when (_stopping || !listener.IsListening)
            {
                return;
            }
            catch (HttpListenerException ex)
            {
                Log.AcceptFailed(_logger, ex, null);
                continue;
            }

            // Off the accept loop: no request, finished or not, may hold up the next accept (closing a refused
            // response can block while HttpListener reads the body the client announced).
            ThreadPool.UnsafeQueueUserWorkItem(static state => _ = state.Listener.HandleSafelyAsync(state.Context), (Listener: this, Context: context), preferLocal: false);
        }
    }

    private async Task HandleSafelyAsync(HttpListenerContext context)
    {
        try
        {
            // Admission and the handshake in their own method; the connection is started, not awaited: its run never
            // throws (it logs its own failures), and no state machine here waits out its life (an idle connection
            // holds only its own: 136 bytes less per connection than awaiting it here).
            if (await AcceptAsync(context).ConfigureAwait(false) is { } accepted)
            {
                _ = _onAccepted(accepted);
            }
        }
        catch (Exception ex)
        {
            Log.AcceptFailed(_logger, ex, context.Request.RemoteEndPoint?.ToString());
            context.Response.Abort();
        }
    }

    /// <summary>Admits and upgrades the request; <see langword="null"/> when it was refused or the handshake failed (already answered).</summary>
    private async Task<AcceptedSocket?> AcceptAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var remote = request.RemoteEndPoint;
        var decision = _admission.Decide(new AdmissionRequest(
            request.Url?.AbsolutePath ?? "/",
            request.IsWebSocketRequest,
            request.Headers["Origin"],
            remote?.Address,
            request.Headers["X-Forwarded-For"],
            _isRunning(),
            request.Headers["Sec-WebSocket-Version"],
            request.Headers["Sec-WebSocket-Key"]));
        if (decision.IsAdmitted)
        {
            decision = _limiter.TryAcquire(decision.Address);
        }

        if (!decision.IsAdmitted)
        {
            if (decision.Status == HttpStatusCode.UpgradeRequired)
            {
                context.Response.AddHeader("Upgrade", "websocket");
                context.Response.AddHeader("Sec-WebSocket-Version", "13");
            }

            Refuse(context, decision, remote?.ToString());
            return null;
        }

        var address = decision.Address;
        WebSocket socket;
        try
        {
            var webSocketContext = await context.AcceptWebSocketAsync(subProtocol: null, _options.ReceiveBufferBytes, _options.KeepAliveInterval)
                .WaitAsync(_options.HandshakeTimeout, _time).ConfigureAwait(false);
            socket = webSocketContext.WebSocket;
        }
        catch (Exception ex)
        {
            _limiter.Release(address);
            if (ex is WebSocketException or TimeoutException)
            {
                // The client's doing (a bad handshake, or too slow): no stack trace, and not above Debug, so that
                // requests cannot be turned into a log flood.
                Log.HandshakeFailed(_logger, remote?.ToString(), ex.Message);
            }
            else
            {
                Log.AcceptFailed(_logger, ex, remote?.ToString());
            }

            context.Response.Abort();
            return null;
        }

        return new AcceptedSocket(socket, new HttpListenerTransport(context, _limiter, address));
    }

    private void Refuse(HttpListenerContext context, AdmissionResult decision, string? remote)
    {
        var status = decision.Status;

        // Browsers do not show a refused upgrade's status to the page, so this line is often the only clue: it says
        // which rule refused and what to change, at most once a second per rule (with how many were not logged).
        if (_refusalLog.Count(decision.Rule, out var suppressed))
        {
            Log.Refused(_logger, remote, (int)status, decision.Rule, decision.Reason, suppressed);
        }
        else
        {
            Log.HttpRefused(_logger, context.Request.HttpMethod, AdmissionPolicy.Clip(context.Request.Url?.AbsolutePath), remote, (int)status, decision.Rule);
        }

        try
        {
            var body = Encoding.UTF8.GetBytes(decision.Message + "\n");
            var response = context.Response;
            response.KeepAlive = false; // a refused client gets no second request on this connection, nor is its body waited for
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

    private static partial class Log
    {
        [LoggerMessage(15, LogLevel.Debug, "Refused HTTP request {Method} {Path} from {RemoteEndPoint}: {Status} ({Rule})")]
        public static partial void HttpRefused(ILogger logger, string method, string? path, string? remoteEndPoint, int status, string rule);

        [LoggerMessage(24, LogLevel.Information, "Refused a WebSocket request from {RemoteEndPoint} with HTTP {Status} (rule {Rule}): {Reason}. {Suppressed} more refusal(s) by this rule since its last line")]
        public static partial void Refused(ILogger logger, string? remoteEndPoint, int status, string rule, string reason, long suppressed);

        [LoggerMessage(22, LogLevel.Debug, "WebSocket handshake from {RemoteEndPoint} failed: {Error}")]
        public static partial void HandshakeFailed(ILogger logger, string? remoteEndPoint, string error);

        [LoggerMessage(16, LogLevel.Warning, "Accepting a WebSocket from {RemoteEndPoint} failed")]
        public static partial void AcceptFailed(ILogger logger, Exception exception, string? remoteEndPoint);
    }
}
