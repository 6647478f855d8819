using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// An in-memory WebSocket pair (no HttpListener, no sockets): <see cref="ServerSocket"/> for the code under test, and
/// the client end, read by a background reader that queues every message, as <see cref="TestClient"/> does over loopback.
/// </summary>
internal sealed class InMemoryClient : IAsyncDisposable
{
    private readonly Channel<JsonElement> _messages = Channel.CreateUnbounded<JsonElement>();
    private readonly TaskCompletionSource<(WebSocketCloseStatus? Status, string? Reason)> _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WebSocket _socket;
    private readonly Task _reader;

    public InMemoryClient()
    {
        var (server, client) = InMemoryDuplexStream.CreatePair();
        ServerSocket = WebSocket.CreateFromStream(server, isServer: true, subProtocol: null, keepAliveInterval: TimeSpan.Zero);
        _socket = WebSocket.CreateFromStream(client, isServer: false, subProtocol: null, keepAliveInterval: TimeSpan.Zero);
        _reader = Task.Run(ReadLoopAsync);
    }

    /// <summary>Gets the server's end of the pair.</summary>
    public WebSocket ServerSocket { get; }

    /// <summary>Completes with the server's close status when the connection ends (null status when it was lost).</summary>
    public Task<(WebSocketCloseStatus? Status, string? Reason)> Closed => _closed.Task;

    public WebSocketState State => _socket.State;

    public async Task SendAsync(object message) =>
        await Wait.ForAsync(_socket.SendAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message)), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None), "client send");

    /// <summary>Starts the close handshake from the client's side (the reader answers nothing more; the server answers the close).</summary>
    public async Task CloseAsync(WebSocketCloseStatus status, string reason) =>
        await Wait.ForAsync(_socket.CloseOutputAsync(status, reason, CancellationToken.None), "client close");

    /// <summary>Returns the next message, failing the test if none arrives in time.</summary>
    public async Task<JsonElement> NextAsync() => await Wait.ForAsync(_messages.Reader.ReadAsync().AsTask(), "next server message");

    /// <summary>Returns the next message and asserts its <c>event</c>.</summary>
    public async Task<JsonElement> ExpectAsync(string eventName)
    {
        var message = await NextAsync();
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

    private async Task ReadLoopAsync()
    {
        var buffer = new byte[16 * 1024];
        using var assembled = new MemoryStream();
        try
        {
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _closed.TrySetResult((_socket.CloseStatus, _socket.CloseStatusDescription));

                    // Answer the server's close as a browser does.
                    if (_socket.State == WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                assembled.Write(buffer, 0, result.Count);
                if (result.EndOfMessage)
                {
                    using var document = JsonDocument.Parse(assembled.ToArray());
                    _messages.Writer.TryWrite(document.RootElement.Clone());
                    assembled.SetLength(0);
                }
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
        _socket.Abort();
        await Wait.ForAsync(_reader, "client reader stopped");
        _socket.Dispose();
        ServerSocket.Dispose();
    }
}
