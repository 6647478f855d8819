using System.Buffers.Text;
using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;

namespace LiveUpdates.LoadTest.Clients;

/// <summary>
/// One dashboard client of the generator: a real <see cref="ClientWebSocket"/> over loopback that speaks the
/// protocol, then reads events and records, for each <c>bench:tick</c>, the time since its <c>Broadcast()</c> call.
/// With <c>batch</c> it declares the batch capability in <c>auth</c> and splits frames on newlines (NDJSON);
/// against a server that ignores the capability every frame is one line, so the same code reads both.
/// With <see cref="ClientProtocol.SignalR"/> it speaks SignalR's JSON hub protocol instead (below).
/// </summary>
internal sealed class LoadClient
{
    private static readonly byte[] s_tickPrefix = "{\"event\":\"bench:tick\""u8.ToArray();
    private static readonly byte[] s_tickEvent = "\"event\":\"bench:tick\""u8.ToArray();
    private static readonly byte[] s_timeField = "\"t\":"u8.ToArray();
    private static readonly byte[] s_refetchPrefix = "{\"event\":\"refetch\""u8.ToArray();
    private static readonly byte[] s_ping = "{\"type\":\"ping\"}"u8.ToArray();
    private static readonly byte[] s_signalRPing = "{\"type\":6}\u001e"u8.ToArray();
    private const byte RecordSeparator = 0x1E;

    private readonly ClientWebSocket _socket;
    private readonly ClientProtocol _protocol;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _buffer = new byte[8192];
    private long _received;
    private long _refetches;
    private long _lastReceipt;
    private int _invocationId;

    private LoadClient(ClientWebSocket socket, ClientProtocol protocol)
    {
        _socket = socket;
        _protocol = protocol;
    }

    public long Received => Volatile.Read(ref _received);

    /// <summary>How many <c>refetch</c> control messages the server sent (a signalled loss: the client would refetch the guild).</summary>
    public long Refetches => Volatile.Read(ref _refetches);

    public long LastReceipt => Volatile.Read(ref _lastReceipt);

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public bool Ended { get; private set; }

    /// <summary>The client's local TCP port (known for a stalled client only), to find its socket in /proc/net/tcp.</summary>
    public int LocalPort { get; private set; }

    /// <summary>
    /// Connects and authenticates. A <paramref name="stalled"/> client gets a 4 KiB receive buffer and will never read events.
    /// For SignalR, <paramref name="uri"/> is the hub's WebSocket endpoint, connected to straight away (skipNegotiation:
    /// no negotiate round trip), the token in <c>access_token</c>, then the handshake
    /// <c>{"protocol":"json","version":1}</c> and its empty answer; records end with 0x1E.
    /// With a <c>localAddress</c> (127.0.0.x) the client's socket is bound to that source address: one source address runs
    /// out of ephemeral ports (about 28,000 on Linux) long before 100,000 clients.
    /// </summary>
    public static async Task<LoadClient> ConnectAsync(Uri uri, string token, bool batch, bool stalled = false, ClientProtocol protocol = ClientProtocol.LiveUpdates, System.Net.IPAddress? localAddress = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        HttpMessageInvoker? invoker = localAddress is null ? null : s_bound.GetOrAdd(localAddress, BoundInvoker);
        var localPort = 0;
        if (stalled)
        {
            invoker = new HttpMessageInvoker(new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 4096 };
                    await s.ConnectAsync(context.DnsEndPoint, ct);
                    localPort = ((System.Net.IPEndPoint)s.LocalEndPoint!).Port;
                    return new NetworkStream(s, ownsSocket: true);
                },
            });
        }

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (protocol == ClientProtocol.SignalR)
        {
            await socket.ConnectAsync(new Uri($"{uri}?access_token={Uri.EscapeDataString(token)}"), invoker, cts.Token);
            var hub = new LoadClient(socket, protocol) { LocalPort = localPort };
            await hub.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e", cts.Token);
            await hub.ExpectAsync("{}"u8.ToArray(), "the handshake response", cts.Token);
            return hub;
        }

        await socket.ConnectAsync(uri, invoker, cts.Token);
        var client = new LoadClient(socket, protocol) { LocalPort = localPort };
        await client.ExpectAsync("connected", cts.Token);
        var auth = batch ? $"{{\"type\":\"auth\",\"token\":\"{token}\",\"batch\":true}}" : $"{{\"type\":\"auth\",\"token\":\"{token}\"}}";
        await client.SendAsync(auth, cts.Token);
        await client.ExpectAsync("authenticated", cts.Token);
        return client;
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<System.Net.IPAddress, HttpMessageInvoker> s_bound = new();

    /// <summary>One handler per source address (shared by its clients: an upgraded connection leaves the pool for good).</summary>
    private static HttpMessageInvoker BoundInvoker(System.Net.IPAddress local) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, ct) =>
        {
            var s = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                s.Bind(new System.Net.IPEndPoint(local, 0));
                await s.ConnectAsync(context.DnsEndPoint, ct);
                return new NetworkStream(s, ownsSocket: true);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        },
    });

    public async Task SubscribeAsync(string guildId)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (_protocol == ClientProtocol.SignalR)
        {
            var id = (++_invocationId).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await SendAsync($"{{\"type\":1,\"invocationId\":\"{id}\",\"target\":\"Subscribe\",\"arguments\":[\"{guildId}\"]}}\u001e", cts.Token);
            await ExpectAsync(Encoding.UTF8.GetBytes($"{{\"type\":3,\"invocationId\":\"{id}\",\"result\""), $"the completion of Subscribe({guildId})", cts.Token);
            return;
        }

        await SendAsync($"{{\"type\":\"subscribe\",\"guildId\":\"{guildId}\"}}", cts.Token);
        await ExpectAsync("subscribed", cts.Token);
    }

    public Task StartReading(LatencyHistogram histogram) => Task.Run(() => ReadLoopAsync(histogram));

    /// <summary>The client's keep-alive (the dashboard's client pings; SignalR's client sends a ping record): false once the socket is gone.</summary>
    public async Task<bool> PingAsync()
    {
        if (Ended || _socket.State != WebSocketState.Open)
        {
            return false;
        }

        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await SendAsync(_protocol == ClientProtocol.SignalR ? s_signalRPing : s_ping, cts.Token);
            return true;
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }
    }

    public void Abort() => _socket.Abort();

    private Task SendAsync(string text, CancellationToken ct) => SendAsync(Encoding.UTF8.GetBytes(text), ct);

    private async Task SendAsync(byte[] bytes, CancellationToken ct)
    {
        await _sendLock.WaitAsync(ct);
        try
        {
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, ct);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Reads messages until one whose <c>event</c> is <paramref name="eventName"/>; an <c>error</c> fails.</summary>
    private Task ExpectAsync(string eventName, CancellationToken ct) =>
        ExpectAsync(Encoding.UTF8.GetBytes($"\"event\":\"{eventName}\""), eventName, ct);

    /// <summary>Reads messages until one that contains <paramref name="expected"/> (for SignalR: a record that starts with it); an error fails.</summary>
    private async Task ExpectAsync(byte[] expected, string what, CancellationToken ct)
    {
        var eventName = what;
        while (true)
        {
            var length = await ReceiveMessageAsync(ct);
            if (length < 0)
            {
                throw new InvalidOperationException($"closed while waiting for {eventName}: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
            }

            var span = _buffer.AsSpan(0, length);
            if (_protocol == ClientProtocol.SignalR)
            {
                foreach (var range in span.Split(RecordSeparator))
                {
                    var record = span[range];
                    if (record.StartsWith(expected))
                    {
                        return;
                    }

                    if (record.IndexOf("\"error\":"u8) >= 0)
                    {
                        throw new InvalidOperationException($"error while waiting for {eventName}: {Encoding.UTF8.GetString(record)}");
                    }
                }

                continue;
            }

            if (span.IndexOf(expected) >= 0)
            {
                return;
            }

            if (span.IndexOf("\"event\":\"error\""u8) >= 0)
            {
                throw new InvalidOperationException($"error while waiting for {eventName}: {Encoding.UTF8.GetString(span)}");
            }
        }
    }

    private async ValueTask<int> ReceiveMessageAsync(CancellationToken ct)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), ct);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                CloseStatus = _socket.CloseStatus;
                return -1;
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return length;
            }
        }
    }

    private async Task ReadLoopAsync(LatencyHistogram histogram)
    {
        try
        {
            while (true)
            {
                var length = await ReceiveMessageAsync(CancellationToken.None);
                if (length < 0)
                {
                    break;
                }

                var now = Stopwatch.GetTimestamp();
                var span = _buffer.AsSpan(0, length);
                var count = 0;
                var separator = _protocol == ClientProtocol.SignalR ? RecordSeparator : (byte)'\n';
                while (span.Length > 0)
                {
                    var newline = span.IndexOf(separator);
                    var line = newline < 0 ? span : span[..newline];
                    span = newline < 0 ? default : span[(newline + 1)..];
                    if (_protocol == ClientProtocol.SignalR)
                    {
                        // {"type":1,"target":"event","arguments":[{"event":"bench:tick",…,"data":{"t":…}}]}
                        var tick = line.IndexOf(s_tickEvent);
                        if (tick < 0)
                        {
                            continue;
                        }

                        line = line[tick..];
                    }
                    else if (!line.StartsWith(s_tickPrefix))
                    {
                        if (line.StartsWith(s_refetchPrefix))
                        {
                            Interlocked.Increment(ref _refetches);
                        }

                        continue;
                    }

                    var at = line.IndexOf(s_timeField);
                    if (at >= 0 && Utf8Parser.TryParse(line[(at + s_timeField.Length)..], out long sent, out _))
                    {
                        histogram.RecordReceipt(sent, now);
                        count++;
                    }
                }

                if (count > 0)
                {
                    Volatile.Write(ref _lastReceipt, now);
                    Volatile.Write(ref _received, _received + count);
                }
            }
        }
        catch (Exception ex) when (ex is WebSocketException or ObjectDisposedException or OperationCanceledException)
        {
            CloseStatus ??= _socket.CloseStatus;
        }

        Ended = true;
    }

    /// <summary>How the client ended, for the "clients cut" count: the server's close code, or "no close frame".</summary>
    public string EndReason => CloseStatus is { } status ? ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture) : "no close frame";
}

/// <summary>The wire protocol a load client speaks.</summary>
internal enum ClientProtocol
{
    /// <summary>LiveUpdates' JSON protocol (the seed's), which the Kestrel and Node.js peers speak too.</summary>
    LiveUpdates,

    /// <summary>SignalR's JSON hub protocol over a raw WebSocket.</summary>
    SignalR,
}
