using System.Net.WebSockets;
using LiveUpdates.Brokers;
using LiveUpdates.Internal;
using LiveUpdates.Internal.Brokers;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Dispatch;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Security;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveUpdates.Tests.Unit;

/// <summary>
/// A real connection's whole life over an in-memory WebSocket pair, with the real token validator, access policy,
/// dispatcher and in-memory broker, and a recording transport handle: no HttpListener, no sockets.
/// </summary>
[TestFixture]
public sealed class ClientConnectionTests
{
    private const string GuildA = "111111111111111111";
    private const string GuildB = "222222222222222222";

    private Server _server = null!;

    [SetUp]
    public async Task SetUp() => _server = await Server.StartAsync();

    [TearDown]
    public async Task TearDown() => await _server.DisposeAsync();

    [Test]
    public async Task RunAsync_OnOpen_SendsConnected_WithTheAuthTimeout()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        _server.Open(serverSocket);

        var connected = await client.ExpectAsync("connected");

        Assert.That(connected.GetProperty("data").GetProperty("authTimeoutMs").GetInt64(), Is.EqualTo((long)_server.Options.AuthTimeout.TotalMilliseconds));
    }

    [Test]
    public async Task Ping_IsAnsweredWithPong()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        _server.Open(serverSocket);
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "ping" });

        await client.ExpectAsync("pong");
    }

    [Test]
    public async Task Auth_WithAValidToken_IsAnsweredWithAuthenticated_ForThatUserAndTheirGuilds()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        var opened = _server.Open(serverSocket);
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = TestTokens.Create("42", [GuildA, GuildB]) });

        var authenticated = await client.ExpectAsync("authenticated");
        Assert.Multiple(() =>
        {
            Assert.That(authenticated.GetProperty("data").GetProperty("userId").GetString(), Is.EqualTo("42"));
            Assert.That(authenticated.GetProperty("data").GetProperty("guilds").EnumerateArray().Select(g => g.GetString()), Is.EqualTo(new[] { GuildA, GuildB }));
            Assert.That(opened.Connection.User?.UserId, Is.EqualTo("42"));
        });
    }

    [Test]
    public async Task Auth_WithGarbage_IsAnsweredWithTokenInvalid_AndLeavesTheConnectionAnonymous()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        var opened = _server.Open(serverSocket);
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = "garbage" });

        await client.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
        Assert.That(opened.Connection.User, Is.Null);
    }

    [Test]
    public async Task Subscribe_IsAnsweredWithSubscribed_ThenABroadcastToThatGuildReachesTheClient_AndOneToAnotherDoesNot()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        var opened = _server.Open(serverSocket);
        await client.ExpectAsync("connected");
        await client.SendAsync(new { type = "auth", token = TestTokens.Create("42", [GuildA, GuildB]) });
        await client.ExpectAsync("authenticated");

        await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        var subscribed = await client.ExpectAsync("subscribed");
        _server.Broadcast(GuildB, LiveEvents.Moderation.RuleCreated, new { ruleId = 6 });
        _server.Broadcast(GuildA, LiveEvents.Moderation.RuleCreated, new { ruleId = 7 });

        var envelope = await client.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
            Assert.That(opened.Connection.SubscriptionCount, Is.EqualTo(1));
            Assert.That(envelope.GetProperty("guildId").GetString(), Is.EqualTo(GuildA), "the other guild's event was not delivered");
            Assert.That(envelope.GetProperty("data").GetProperty("ruleId").GetInt32(), Is.EqualTo(7));
        });
    }

    [Test]
    public async Task ACloseFromTheClient_IsAnswered_AndEndsTheConnection_ReleasingTheTransportWithoutAborting()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        var opened = _server.Open(serverSocket);
        await client.ExpectAsync("connected");
        await client.SendAsync(new { type = "auth", token = TestTokens.Create("42", [GuildA]) });
        await client.ExpectAsync("authenticated");
        await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        await client.ExpectAsync("subscribed");

        await Wait.ForAsync(client.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None), "client close");

        var (status, reason) = await Wait.ForAsync(client.Closed, "the server's answer to the close");
        await Wait.ForAsync(opened.Connection.Completion, "the connection's completion");
        await Wait.ForAsync(opened.Closed, "the onClosed callback");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.NormalClosure));
            Assert.That(reason, Is.EqualTo(ProtocolNames.CloseNormal));
            Assert.That(opened.Transport.Releases, Is.EqualTo(1), "released once at clean-up");
            Assert.That(opened.Transport.Aborts, Is.Zero, "a clean close needs no hard teardown");
            Assert.That(opened.ServerSocket.State, Is.EqualTo(WebSocketState.Closed));
            Assert.That(_server.Rooms.RoomCount, Is.Zero, "the connection left its room");
        });
    }

    [Test]
    public async Task RequestClose_SendsTheCloseFrame_AndEndsTheConnectionOnceTheClientAnswers()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        var opened = _server.Open(serverSocket);
        await client.ExpectAsync("connected");

        opened.Connection.RequestClose(WebSocketCloseStatus.EndpointUnavailable, ProtocolNames.CloseServerShutdown, drainFirst: true);

        var (status, reason) = await Wait.ForAsync(client.Closed, "the server's close frame");
        await Wait.ForAsync(opened.Connection.Completion, "the connection's completion");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
            Assert.That(reason, Is.EqualTo(ProtocolNames.CloseServerShutdown));
            Assert.That(opened.Transport.Releases, Is.EqualTo(1));
            Assert.That(opened.Transport.Aborts, Is.Zero);
        });
    }

    [Test]
    public async Task Abort_TearsTheSocketDown_AbortsTheTransport_AndEndsTheConnection()
    {
        await using var client = TestClient.InMemory(out var serverSocket);
        var opened = _server.Open(serverSocket);
        await client.ExpectAsync("connected");
        await client.SendAsync(new { type = "auth", token = TestTokens.Create("42", [GuildA]) });
        await client.ExpectAsync("authenticated");
        await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        await client.ExpectAsync("subscribed");

        opened.Connection.Abort();

        await Wait.ForAsync(opened.Connection.Completion, "the connection's completion");
        await Wait.ForAsync(opened.Closed, "the onClosed callback");
        var (status, _) = await Wait.ForAsync(client.Closed, "the client seeing the connection lost");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.Null, "no close frame: the connection was lost");
            Assert.That(opened.Transport.Aborts, Is.EqualTo(1), "the transport tears its connection down with the socket");
            Assert.That(opened.Transport.Releases, Is.EqualTo(1));
            Assert.That(opened.ServerSocket.State, Is.EqualTo(WebSocketState.Aborted));
            Assert.That(opened.Connection.IsClosing, Is.True);
            Assert.That(_server.Rooms.RoomCount, Is.Zero, "the connection left its room");
        });
    }

    /// <summary>A transport handle that counts what the connection asked of it.</summary>
    private sealed class RecordingTransport : IConnectionTransport
    {
        private int _aborts;
        private int _releases;

        public int Aborts => Volatile.Read(ref _aborts);

        public int Releases => Volatile.Read(ref _releases);

        public string? RemoteEndPoint => "10.0.0.1:50000";

        public void Abort() => Interlocked.Increment(ref _aborts);

        public void Release() => Interlocked.Increment(ref _releases);

        public bool IsConnectionLost(Exception exception) => false;
    }

    /// <summary>One connection under test: the connection, its transport handle, its server socket, and its end.</summary>
    private sealed record Opened(ClientConnection Connection, RecordingTransport Transport, WebSocket ServerSocket, Task Closed, Task Run);

    /// <summary>What <c>WebSocketManager</c> builds around its connections, minus the listener.</summary>
    private sealed class Server : IAsyncDisposable
    {
        private readonly ServerContext _context;
        private readonly InMemoryBroker _broker;
        private readonly Dispatcher _dispatcher;
        private readonly LiveUpdatesMetrics _metrics;
        private readonly Task _dispatchLoop;
        private readonly List<Opened> _opened = [];

        private Server(ServerContext context, InMemoryBroker broker, Dispatcher dispatcher, LiveUpdatesMetrics metrics)
        {
            _context = context;
            _broker = broker;
            _dispatcher = dispatcher;
            _metrics = metrics;
            _dispatchLoop = Task.Run(dispatcher.RunAsync);
        }

        public LiveUpdatesOptions Options => _context.Options;

        public RoomStore Rooms => _context.Rooms;

        public static async Task<Server> StartAsync()
        {
            var options = new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret };
            var time = TimeProvider.System;
            var metrics = new LiveUpdatesMetrics(() => (0, 0));
            var broker = new InMemoryBroker(options.HistoryCapacity, options.HistoryMaxAge, time);
            var rooms = new RoomStore();
            var accessPolicy = new TokenClaimGuildAccessPolicy(options);
            var stopping = new CancellationTokenSource();
            var dispatcher = new Dispatcher(options, rooms, broker, accessPolicy, time, NullLogger<Dispatcher>.Instance, metrics, stopping.Token);
            var loggerFactory = TestServer.LoggerFactory ?? NullLoggerFactory.Instance;
            var context = new ServerContext(options, new DefaultTokenValidator(options, time), accessPolicy, time, loggerFactory, rooms, dispatcher, metrics, stopping);
            await Wait.ForAsync(broker.StartAsync(dispatcher, CancellationToken.None), "broker start");
            return new Server(context, broker, dispatcher, metrics);
        }

        /// <summary>Runs a connection over <paramref name="serverSocket"/>, the server end of an in-memory pair, as the listener would after an upgrade.</summary>
        public Opened Open(WebSocket serverSocket)
        {
            var transport = new RecordingTransport();
            var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var connection = new ClientConnection(_context, serverSocket, transport, _ => closed.TrySetResult());
            var opened = new Opened(connection, transport, serverSocket, closed.Task, Task.Run(connection.RunAsync));
            _opened.Add(opened);
            return opened;
        }

        public void Broadcast(string guildId, string eventName, object? data) =>
            _dispatcher.Post(BrokerMessage.Event(guildId, eventName, EnvelopeSerializer.SerializeData(eventName, data, Options.SerializerOptions), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

        public async ValueTask DisposeAsync()
        {
            foreach (var opened in _opened)
            {
                opened.Connection.Abort();
                await Wait.ForAsync(opened.Run, "the connection's run");
            }

            await _context.Stopping.CancelAsync();
            _dispatcher.Complete();
            await Wait.ForAsync(_dispatchLoop, "the dispatch loop");
            await _broker.StopAsync(CancellationToken.None);
            _broker.Dispose();
            _context.Stopping.Dispose();
            _metrics.Dispose();
        }
    }
}
