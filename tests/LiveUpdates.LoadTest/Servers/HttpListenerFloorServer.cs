using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Text;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The floor under LiveUpdates' memory per connection: an <see cref="HttpListener"/> that accepts WebSockets exactly as
/// LiveUpdates does (the same request fields read first, same receive buffer size and keep-alive, a zero-byte receive
/// while idle, a buffer rented only to read a message, the context held for the socket's life), answers the first message with <c>authenticated</c> without checking anything, and holds the
/// socket. Measured in the idle scenario only: LiveUpdates' own share is its memory per connection minus this one.
/// </summary>
internal sealed class HttpListenerFloorServer : IBenchServer
{
    private static readonly byte[] s_connected = Encoding.UTF8.GetBytes("{\"event\":\"connected\",\"data\":{}}");
    private static readonly byte[] s_authenticated = Encoding.UTF8.GetBytes("{\"event\":\"authenticated\",\"data\":{}}");
    private readonly ConcurrentDictionary<WebSocket, byte> _sockets = new();
    private readonly LiveUpdatesOptions _defaults = new();
    private HttpListener? _listener;

    public string Name => "httplistener-floor";

    public int ConnectionCount => _sockets.Count;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long>();

    public IReadOnlyList<BenchSetting> Settings { get; } = [];

    public Task StartAsync(int port, string secret)
    {
        _listener = new HttpListener();
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _ = Task.Run(AcceptLoopAsync);
        return Task.CompletedTask;
    }

    public void Broadcast(string guildId, string eventName, object data)
    {
    }

    public ValueTask DisposeAsync()
    {
        foreach (var socket in _sockets.Keys)
        {
            socket.Abort();
        }

        _listener?.Close();
        return ValueTask.CompletedTask;
    }

    private async Task AcceptLoopAsync()
    {
        while (_listener!.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HoldAsync(context));
        }
    }

    private async Task HoldAsync(HttpListenerContext context)
    {
        // What any HttpListener WebSocket server reads before it upgrades (path, origin, remote address, the
        // handshake's headers), as LiveUpdates' admission does: HttpListener builds some of these objects lazily.
        var request = context.Request;
        GC.KeepAlive((request.Url?.AbsolutePath, request.IsWebSocketRequest, request.Headers["Origin"], request.RemoteEndPoint?.Address,
            request.Headers["X-Forwarded-For"], request.Headers["Sec-WebSocket-Version"], request.Headers["Sec-WebSocket-Key"]));
        WebSocket socket;
        try
        {
            socket = (await context.AcceptWebSocketAsync(null, _defaults.ReceiveBufferBytes, _defaults.KeepAliveInterval)).WebSocket;
        }
        catch (Exception ex) when (ex is WebSocketException or HttpListenerException)
        {
            return;
        }

        await HoldSocketAsync(socket, _sockets, _defaults.ReceiveBufferBytes);
    }

    /// <summary>
    /// What a floor does with an accepted socket: <c>connected</c>, then a zero-byte receive while idle and a pooled
    /// buffer only to read a message, <c>authenticated</c> after the first one (nothing checked), until the client closes.
    /// Shared by <see cref="KestrelFloorServer"/>, so the two floors differ only by their transport.
    /// </summary>
    internal static async Task HoldSocketAsync(WebSocket socket, ConcurrentDictionary<WebSocket, byte> sockets, int receiveBufferBytes)
    {
        sockets.TryAdd(socket, 0);
        var answered = false;
        try
        {
            await socket.SendAsync(s_connected, WebSocketMessageType.Text, true, CancellationToken.None);
            while (true)
            {
                var wait = await socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None);
                if (wait.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                var buffer = ArrayPool<byte>.Shared.Rent(receiveBufferBytes);
                try
                {
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        result = await socket.ReceiveAsync(buffer.AsMemory(), CancellationToken.None);
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        return;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                if (!answered)
                {
                    answered = true;
                    await socket.SendAsync(s_authenticated, WebSocketMessageType.Text, true, CancellationToken.None);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or HttpListenerException or IOException)
        {
        }
        finally
        {
            sockets.TryRemove(socket, out _);
            socket.Abort();
        }
    }
}
