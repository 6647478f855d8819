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
/// </summary>
internal sealed class LoadClient
{
    private static readonly byte[] s_tickPrefix = "{\"event\":\"bench:tick\""u8.ToArray();
    private static readonly byte[] s_timeField = "\"t\":"u8.ToArray();

    private readonly ClientWebSocket _socket;
    private byte[] _buffer = new byte[8192];
    private long _received;
    private long _lastReceipt;

    private LoadClient(ClientWebSocket socket) => _socket = socket;

    public long Received => Volatile.Read(ref _received);

    public long LastReceipt => Volatile.Read(ref _lastReceipt);

    public WebSocketCloseStatus? CloseStatus { get; private set; }

    public bool Ended { get; private set; }

    /// <summary>The client's local TCP port (known for a stalled client only), to find its socket in /proc/net/tcp.</summary>
    public int LocalPort { get; private set; }

    /// <summary>Connects and authenticates. A <paramref name="stalled"/> client gets a 4 KiB receive buffer and will never read events.</summary>
    public static async Task<LoadClient> ConnectAsync(Uri uri, string token, bool batch, bool stalled = false)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        HttpMessageInvoker? invoker = null;
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
        await socket.ConnectAsync(uri, invoker, cts.Token);
        var client = new LoadClient(socket) { LocalPort = localPort };
        await client.ExpectAsync("connected", cts.Token);
        var auth = batch ? $"{{\"type\":\"auth\",\"token\":\"{token}\",\"batch\":true}}" : $"{{\"type\":\"auth\",\"token\":\"{token}\"}}";
        await client.SendAsync(auth, cts.Token);
        await client.ExpectAsync("authenticated", cts.Token);
        return client;
    }

    public async Task SubscribeAsync(string guildId)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await SendAsync($"{{\"type\":\"subscribe\",\"guildId\":\"{guildId}\"}}", cts.Token);
        await ExpectAsync("subscribed", cts.Token);
    }

    public Task StartReading(LatencyHistogram histogram) => Task.Run(() => ReadLoopAsync(histogram));

    public void Abort() => _socket.Abort();

    private async Task SendAsync(string text, CancellationToken ct) =>
        await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, ct);

    /// <summary>Reads messages until one whose <c>event</c> is <paramref name="eventName"/>; an <c>error</c> fails.</summary>
    private async Task ExpectAsync(string eventName, CancellationToken ct)
    {
        var expected = Encoding.UTF8.GetBytes($"\"event\":\"{eventName}\"");
        while (true)
        {
            var length = await ReceiveMessageAsync(ct);
            if (length < 0)
            {
                throw new InvalidOperationException($"closed while waiting for {eventName}: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
            }

            var span = _buffer.AsSpan(0, length);
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
                while (span.Length > 0)
                {
                    var newline = span.IndexOf((byte)'\n');
                    var line = newline < 0 ? span : span[..newline];
                    span = newline < 0 ? default : span[(newline + 1)..];
                    if (!line.StartsWith(s_tickPrefix))
                    {
                        continue;
                    }

                    var at = line.IndexOf(s_timeField);
                    if (at >= 0 && Utf8Parser.TryParse(line[(at + s_timeField.Length)..], out long sent, out _))
                    {
                        histogram.RecordTicks(now - sent);
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
}
