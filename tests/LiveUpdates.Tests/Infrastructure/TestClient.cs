using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// A real client WebSocket with a background reader that queues every message it receives: a <see cref="ClientWebSocket"/>
/// over loopback (<see cref="ConnectAsync"/>), or the client end of an in-memory pair (<see cref="InMemory"/>).
/// </summary>
internal sealed class TestClient : IAsyncDisposable
{
    private readonly Channel<JsonElement> _messages = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<(WebSocketCloseStatus? Status, string? Reason)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task _reader = Task.CompletedTask;

    private TestClient(WebSocket socket) => Socket = socket;

    public WebSocket Socket { get; }

    /// <summary>Completes with the server's close status when the connection ends (null status when it was aborted).</summary>
    public Task<(WebSocketCloseStatus? Status, string? Reason)> Closed => _closed.Task;

    public static async Task<TestClient> ConnectAsync(Uri uri, bool startReading = true, TimeSpan? keepAlive = null, Action<ClientWebSocketOptions>? configure = null, HttpMessageInvoker? invoker = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = keepAlive ?? TimeSpan.Zero;
        configure?.Invoke(socket.Options);
        await Wait.ForAsync(socket.ConnectAsync(uri, invoker, CancellationToken.None), "WebSocket connect");
        var client = new TestClient(socket);
        if (startReading)
        {
            client._reader = Task.Run(client.ReadLoopAsync);
        }

        return client;
    }

    /// <summary>
    /// A client over an in-memory WebSocket pair (no HttpListener, no sockets); <paramref name="serverSocket"/> is the
    /// other end, for the code under test.
    /// </summary>
    public static TestClient InMemory(out WebSocket serverSocket)
    {
        var (server, client) = InMemoryDuplexStream.CreatePair();
        serverSocket = WebSocket.CreateFromStream(server, isServer: true, subProtocol: null, keepAliveInterval: TimeSpan.Zero);
        var testClient = new TestClient(WebSocket.CreateFromStream(client, isServer: false, subProtocol: null, keepAliveInterval: TimeSpan.Zero));
        testClient._reader = Task.Run(testClient.ReadLoopAsync);
        return testClient;
    }

    public async Task SendAsync(object message) => await SendTextAsync(JsonSerializer.Serialize(message));

    public async Task SendTextAsync(string text) => await SendRawAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public async Task SendRawAsync(byte[] bytes, WebSocketMessageType type, bool endOfMessage = true)
    {
        await _sendLock.WaitAsync();
        try
        {
            await Wait.ForAsync(Socket.SendAsync(bytes, type, endOfMessage, CancellationToken.None), "client send");
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Returns the next message, failing the test if none arrives in time.</summary>
    public async Task<JsonElement> NextAsync(TimeSpan? timeout = null) =>
        await Wait.ForAsync(_messages.Reader.ReadAsync().AsTask(), "next server message", timeout);

    /// <summary>Returns the next message and asserts its <c>event</c>.</summary>
    public async Task<JsonElement> ExpectAsync(string eventName, TimeSpan? timeout = null)
    {
        var message = await NextAsync(timeout);
        Assert.That(message.GetProperty("event").GetString(), Is.EqualTo(eventName), $"unexpected message {message}");
        return message;
    }

    /// <summary>Returns the next message and asserts it is an error with <paramref name="code"/>.</summary>
    public async Task<JsonElement> ExpectErrorAsync(string code)
    {
        var message = await ExpectAsync("error");
        Assert.That(message.GetProperty("data").GetProperty("code").GetString(), Is.EqualTo(code), $"unexpected error {message}");
        return message;
    }

    public async Task<JsonElement> AuthenticateAsync(string token)
    {
        await SendAsync(new { type = "auth", token });
        return await ExpectAsync("authenticated");
    }

    public async Task<JsonElement> SubscribeAsync(string guildId)
    {
        await SendAsync(new { type = "subscribe", guildId });
        var message = await ExpectAsync("subscribed");
        Assert.That(message.GetProperty("guildId").GetString(), Is.EqualTo(guildId));
        return message;
    }

    /// <summary>Subscribes asking to recover everything after <paramref name="lastSeq"/> of <paramref name="epoch"/>; returns <c>subscribed</c>.</summary>
    public async Task<JsonElement> SubscribeAsync(string guildId, long lastSeq, string epoch)
    {
        await SendAsync(new { type = "subscribe", guildId, lastSeq, epoch });
        var message = await ExpectAsync("subscribed");
        Assert.That(message.GetProperty("guildId").GetString(), Is.EqualTo(guildId));
        return message;
    }

    /// <summary>Everything received and not yet taken, without waiting (for a client whose connection has ended).</summary>
    public List<JsonElement> TakeAllBuffered()
    {
        var all = new List<JsonElement>();
        while (_messages.Reader.TryRead(out var message))
        {
            all.Add(message);
        }

        return all;
    }

    /// <summary>Completes when the background reader has stopped (the connection ended).</summary>
    public Task ReaderCompletion => _reader;

    /// <summary>
    /// Sends a ping and returns everything received before the pong. The pong travels through the same send
    /// queue as events, so after a dispatcher flush this is exactly what the server had queued for this client.
    /// </summary>
    public async Task<List<JsonElement>> DrainUntilPongAsync(TimeSpan? timeout = null)
    {
        await SendAsync(new { type = "ping" });
        var received = new List<JsonElement>();
        while (true)
        {
            var message = await NextAsync(timeout);
            if (message.GetProperty("event").GetString() == "pong")
            {
                return received;
            }

            received.Add(message);
        }
    }

    public bool TryTakeBuffered(out JsonElement message) => _messages.Reader.TryRead(out message);

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        using var assembled = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await Socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult((Socket.CloseStatus, Socket.CloseStatusDescription));

                    // Answer the close as a browser does (ClientWebSocket leaves that to the application).
                    if (Socket.State == WebSocketState.CloseReceived)
                    {
                        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                assembled.Write(buffer, 0, result.Count);
                if (!result.EndOfMessage)
                {
                    continue;
                }

                using var document = JsonDocument.Parse(assembled.ToArray());
                _messages.Writer.TryWrite(document.RootElement.Clone());
                assembled.SetLength(0);
            }
        }
        catch (Exception)
        {
            _closed.TrySetResult((null, null));
        }
        finally
        {
            _messages.Writer.TryComplete();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Socket.State == WebSocketState.Open)
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                await Task.WhenAny(_reader, Task.Delay(TimeSpan.FromSeconds(2)));
            }
        }
        catch (Exception)
        {
            // The server may already be gone.
        }

        Socket.Dispose();
        _sendLock.Dispose();
    }
}
