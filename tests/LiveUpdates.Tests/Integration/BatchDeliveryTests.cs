using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// The <c>batch</c> capability over real sockets: a client that declares it in <c>auth</c> may get several messages
/// in one frame, newline-separated, when it is behind; everyone else always gets one message per frame.
/// </summary>
[TestFixture]
public sealed class BatchDeliveryTests
{
    private const string Guild = "111111111111111111";
    private const int Events = 1000;

    [Test]
    public async Task Auth_WithBatch_IsConfirmedInAuthenticated_AndWithoutIt_IsNot()
    {
        await using var server = await TestServer.StartAsync();
        await using var batch = await RawClient.ConnectAsync(server, "1", batch: true);
        await using var plain = await RawClient.ConnectAsync(server, "2", batch: false);

        Assert.Multiple(() =>
        {
            Assert.That(batch.Authenticated.GetProperty("data").GetProperty("batch").GetBoolean(), Is.True);
            Assert.That(plain.Authenticated.GetProperty("data").TryGetProperty("batch", out _), Is.False);
        });
    }

    [Test]
    public async Task BatchClient_GetsABurstInFewerFrames_EveryEventOnceInOrder_WhilePlainClientGetsOnePerFrame()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxBatchBytes = 4096);
        await using var batch = await RawClient.ConnectAsync(server, "1", batch: true, subscribe: Guild);
        await using var plain = await RawClient.ConnectAsync(server, "2", batch: false, subscribe: Guild);

        for (var i = 0; i < Events; i++)
        {
            server.Manager.Broadcast(Guild, "moderation:infraction_created", new { i });
        }

        var (batchFrames, batchEvents) = await batch.ReadEventsAsync(Events);
        var (plainFrames, plainEvents) = await plain.ReadEventsAsync(Events);

        Assert.Multiple(() =>
        {
            Assert.That(batchEvents.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(1, Events).Select(i => (long)i)), "every event once, in order");
            Assert.That(batchEvents.Select(e => e.GetProperty("data").GetProperty("i").GetInt32()), Is.EqualTo(Enumerable.Range(0, Events)));
            Assert.That(batchFrames.Count, Is.LessThan(Events), "a burst is packed into fewer frames");
            Assert.That(batchFrames.Where(f => f.Contains('\n', StringComparison.Ordinal)).Max(f => Encoding.UTF8.GetByteCount(f)), Is.LessThanOrEqualTo(4096), "a packed frame stays within MaxBatchBytes");
            Assert.That(batchFrames, Has.None.EndsWith("\n"), "newlines separate messages; none trails");
            Assert.That(plainFrames, Has.Count.EqualTo(Events), "a client that did not declare batch gets one message per frame");
            Assert.That(plainFrames, Has.None.Contains("\n"));
            Assert.That(plainEvents.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(1, Events).Select(i => (long)i)));
        });
    }

    [Test]
    public async Task MaxBatchBytesZero_TurnsBatchingOff_EvenForClientsThatAsk()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxBatchBytes = 0);
        await using var client = await RawClient.ConnectAsync(server, "1", batch: true, subscribe: Guild);

        for (var i = 0; i < 200; i++)
        {
            server.Manager.Broadcast(Guild, "moderation:infraction_created", new { i });
        }

        var (frames, events) = await client.ReadEventsAsync(200);
        Assert.Multiple(() =>
        {
            Assert.That(client.Authenticated.GetProperty("data").TryGetProperty("batch", out _), Is.False);
            Assert.That(frames, Has.Count.EqualTo(200));
            Assert.That(events, Has.Count.EqualTo(200));
        });
    }

    [Test]
    public async Task IndentedPayloads_TurnBatchingOff_BecauseNewlinesSeparateMessages()
    {
        await using var server = await TestServer.StartAsync(o => o.SerializerOptions = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });
        await using var client = await RawClient.ConnectAsync(server, "1", batch: true, subscribe: Guild);

        Assert.That(client.Authenticated.GetProperty("data").TryGetProperty("batch", out _), Is.False);
    }

    /// <summary>A client that reads frames by hand, so a test sees how messages were packed.</summary>
    private sealed class RawClient : IAsyncDisposable
    {
        private readonly ClientWebSocket _socket;

        private RawClient(ClientWebSocket socket, JsonElement authenticated)
        {
            _socket = socket;
            Authenticated = authenticated;
        }

        public JsonElement Authenticated { get; }

        public static async Task<RawClient> ConnectAsync(TestServer server, string userId, bool batch, string? subscribe = null)
        {
            var socket = new ClientWebSocket();
            await Wait.ForAsync(socket.ConnectAsync(server.Uri, CancellationToken.None), "connect");
            Assert.That(Event((await ReadFrameAsync(socket))!), Is.EqualTo("connected"));
            var token = TestTokens.Create(userId, [Guild]);
            await SendAsync(socket, batch ? new { type = "auth", token, batch = true } : (object)new { type = "auth", token });
            var authenticated = Parse((await ReadFrameAsync(socket))!).Single();
            Assert.That(Event(authenticated), Is.EqualTo("authenticated"));
            var client = new RawClient(socket, authenticated);
            if (subscribe is not null)
            {
                await SendAsync(socket, new { type = "subscribe", guildId = subscribe });
                Assert.That(Event(Parse((await ReadFrameAsync(socket))!).Single()), Is.EqualTo("subscribed"));
            }

            return client;
        }

        /// <summary>Reads frames until <paramref name="count"/> events have arrived; returns the raw frames and the events.</summary>
        public async Task<(List<string> Frames, List<JsonElement> Events)> ReadEventsAsync(int count)
        {
            var frames = new List<string>();
            var events = new List<JsonElement>();
            while (events.Count < count)
            {
                var frame = await ReadFrameAsync(_socket) ?? throw new AssertionException("closed before every event arrived");
                frames.Add(frame);
                events.AddRange(Parse(frame).Where(m => Event(m) != "pong"));
            }

            return (frames, events);
        }

        public async ValueTask DisposeAsync()
        {
            _socket.Abort();
            _socket.Dispose();
            await Task.CompletedTask;
        }

        private static string Event(JsonElement message) => message.GetProperty("event").GetString()!;

        private static string Event(string frame) => Event(Parse(frame).Single());

        private static List<JsonElement> Parse(string frame) =>
            [.. frame.Split('\n').Select(line => { using var d = JsonDocument.Parse(line); return d.RootElement.Clone(); })];

        private static async Task SendAsync(ClientWebSocket socket, object message) =>
            await Wait.ForAsync(socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, CancellationToken.None), "send");

        private static async Task<string?> ReadFrameAsync(ClientWebSocket socket)
        {
            var buffer = new byte[128 * 1024];
            var length = 0;
            WebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(new ArraySegment<byte>(buffer, length, buffer.Length - length), CancellationToken.None).WaitAsync(Wait.Default);
                length += result.Count;
            }
            while (!result.EndOfMessage);

            return result.MessageType == WebSocketMessageType.Close ? null : Encoding.UTF8.GetString(buffer, 0, length);
        }
    }
}
