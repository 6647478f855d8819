using System.Net;
using System.Net.WebSockets;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Transports;

/// <summary>
/// What every transport must do the same, over real loopback sockets and <see cref="ClientWebSocket"/> clients: the
/// protocol, delivery, recovery, admission, the slow-consumer verdict and shutdown. Each transport's fixture derives
/// from it and says how to start a server; the protocol's own details are tested once, on the HttpListener, elsewhere.
/// </summary>
public abstract class TransportSpecification
{
    private const string GuildA = "111111111111111111";
    private const string GuildB = "222222222222222222";
    private const string Event = "moderation:infraction_created";

    private readonly List<ILiveServer> _servers = [];

    /// <summary>Starts a server of this transport with the test secret and <paramref name="configure"/> applied.</summary>
    private protected abstract Task<ILiveServer> StartServerCoreAsync(Action<LiveUpdatesOptions>? configure);

    [TearDown]
    public async Task StopServers()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    [Test]
    public async Task Connect_SendsConnected()
    {
        var server = await StartAsync();
        await using var client = await server.ConnectAsync();

        var connected = await client.ExpectAsync("connected");

        Assert.That(connected.GetProperty("data").GetProperty("authTimeoutMs").GetInt64(), Is.EqualTo(10_000));
    }

    [Test]
    public async Task Auth_ValidToken_Authenticated_BadToken_TokenInvalid()
    {
        var server = await StartAsync();
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = TestTokens.Create("42", [GuildA], secret: TestTokens.OtherSecret) });
        await client.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
        var authenticated = await client.AuthenticateAsync(TestTokens.Create("42", [GuildA]));

        Assert.That(authenticated.GetProperty("data").GetProperty("userId").GetString(), Is.EqualTo("42"));
    }

    [Test]
    public async Task Subscribe_ThenBroadcast_DeliversTheEvent_Unsubscribe_StopsIt()
    {
        var server = await StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA, GuildB], GuildA);

        server.Manager.Broadcast(GuildA, Event, new { n = 1 });
        server.Manager.Broadcast(GuildB, Event, new { n = 2 }); // not subscribed
        var delivered = await client.ExpectAsync(Event);

        await client.SendAsync(new { type = "unsubscribe", guildId = GuildA });
        await client.ExpectAsync("unsubscribed");
        server.Manager.Broadcast(GuildA, Event, new { n = 3 });
        await server.FlushAsync();
        var after = await client.DrainUntilPongAsync();

        Assert.Multiple(() =>
        {
            Assert.That(delivered.GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
            Assert.That(delivered.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(1));
            Assert.That(after, Is.Empty, "nothing after unsubscribing, nothing of the other guild");
        });
    }

    [Test]
    public async Task Reconnect_WithLastSeq_RecoversTheMissedEvents()
    {
        var server = await StartAsync();
        string epoch;
        await using (var first = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA))
        {
            server.Manager.Broadcast(GuildA, Event, new { n = 1 });
            epoch = (await first.ExpectAsync(Event)).GetProperty("epoch").GetString()!;
        }

        server.Manager.Broadcast(GuildA, Event, new { n = 2 });
        server.Manager.Broadcast(GuildA, Event, new { n = 3 });
        await server.FlushAsync();
        await using var again = await server.ConnectAuthenticatedAsync("1", [GuildA]);
        var subscribed = await again.SubscribeAsync(GuildA, lastSeq: 1, epoch);
        var missed = new[] { await again.ExpectAsync(Event), await again.ExpectAsync(Event) };

        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
            Assert.That(missed.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(new[] { 2L, 3L }));
            Assert.That(missed.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 2, 3 }));
        });
    }

    [Test]
    public async Task Origin_NotAllowed_Gets403_AllowedOriginConnects()
    {
        var server = await StartAsync(o => o.AllowedOrigins.Add("https://dashboard.example.com"));

        using var refused = await TryConnectAsync(server, "https://evil.example.com");
        using var allowed = await TryConnectAsync(server, "https://dashboard.example.com");

        Assert.Multiple(() =>
        {
            Assert.That(refused.HttpStatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(allowed.HttpStatusCode, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
        });
    }

    [Test]
    public async Task ConnectionsPerAddress_BeyondTheLimit_Get429_AndTheSlotIsReleasedOnClose()
    {
        var server = await StartAsync(o => o.MaxConnectionsPerAddress = 2);
        await using var a1 = await server.ConnectAsync();
        await using var a2 = await server.ConnectAsync();

        using var third = await TryConnectAsync(server, origin: null);
        Assert.That(third.HttpStatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests));

        await a1.DisposeAsync();
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 1, "slot released");
        using var again = await TryConnectAsync(server, origin: null);
        Assert.That(again.HttpStatusCode, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
    }

    [Test]
    public async Task SlowReader_IsClosedWith1013_WhileTheHealthyClientKeepsReceiving()
    {
        var server = await StartAsync(o =>
        {
            o.SendQueueCapacity = 8;
            o.SendQueueMaxBytes = 256 * 1024;
            o.CloseTimeout = TimeSpan.FromMinutes(1); // let the slow reader reach the close frame
        });
        var slow = await TestClient.ConnectAsync(server.Uri, startReading: false, configure: server.ConfigureClient);
        await using var healthy = await server.ConnectAuthenticatedAsync("2", [GuildA], GuildA);
        var payload = new string('s', 32 * 1024);
        await slow.SendAsync(new { type = "auth", token = TestTokens.Create("1", [GuildA]) });
        await slow.SendAsync(new { type = "subscribe", guildId = GuildA });
        await Wait.UntilAsync(() => server.Manager.Connections.Any(c => c.User?.UserId == "1" && c.SubscriptionCount == 1), "slow client subscribed");
        var slowConnection = server.Manager.Connections.Single(c => c.User?.UserId == "1");

        var sent = 0;
        while (!slowConnection.IsClosing && sent < 4000)
        {
            server.Manager.Broadcast(GuildA, Event, new { n = sent++, payload });
            if (sent % 4 == 0)
            {
                for (var k = 0; k < 4; k++)
                {
                    await healthy.ExpectAsync(Event);
                }
            }
        }

        Assert.That(slowConnection.IsClosing, Is.True, $"the slow client is told to go after {sent} events");
        var buffer = new byte[1024 * 1024];
        while ((await slow.Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait.Default)).MessageType != WebSocketMessageType.Close)
        {
        }

        Assert.Multiple(() =>
        {
            Assert.That((int?)slow.Socket.CloseStatus, Is.EqualTo(1013));
            Assert.That(slow.Socket.CloseStatusDescription, Is.EqualTo("SLOW_CONSUMER"));
        });
        await slow.DisposeAsync();
    }

    /// <summary>
    /// A room of more than a thousand members (the size at which spreading a fan-out over threads was tried, see
    /// docs/benchmarks.md): events broadcast back to back reach every member once each and in order, the first written
    /// directly by the dispatch loop, the next queued behind it.
    /// </summary>
    [Test]
    public async Task LargeRoom_EveryMemberGetsEachBroadcastOnce_InOrder()
    {
        const int Members = 1064;
        var server = await StartAsync(o =>
        {
            o.MaxConnectionsPerAddress = Members;
            o.MaxConnectionsPerUser = Members;
        });
        var clients = new TestClient[Members];
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, Members), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
                clients[i] = await server.ConnectAuthenticatedAsync((i % 50).ToString(System.Globalization.CultureInfo.InvariantCulture), [GuildA], GuildA));

            for (var n = 1; n <= 3; n++)
            {
                server.Manager.Broadcast(GuildA, Event, new { n });
            }

            await server.FlushAsync();
            server.Manager.Broadcast(GuildA, Event, new { n = 4 }); // alone: a duplicate of 1–3 would come before it

            var wrong = new System.Collections.Concurrent.ConcurrentBag<string>();
            await Parallel.ForEachAsync(Enumerable.Range(0, Members), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
            {
                for (var n = 1; n <= 4; n++)
                {
                    var message = await clients[i].NextAsync(TimeSpan.FromSeconds(30));
                    if (message.GetProperty("event").GetString() != Event || message.GetProperty("data").GetProperty("n").GetInt32() != n)
                    {
                        wrong.Add($"client {i} expected n={n}, got {message}");
                        return;
                    }
                }
            });

            Assert.That(wrong, Is.Empty);
        }
        finally
        {
            foreach (var client in clients)
            {
                if (client is not null)
                {
                    await client.DisposeAsync();
                }
            }
        }
    }

    [Test]
    public async Task HostStop_ClosesEveryClientWith1001()
    {
        var server = await StartAsync();
        await using var subscribed = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        await using var anonymous = await server.ConnectAsync();
        await anonymous.ExpectAsync("connected");

        await Wait.ForAsync(server.StopAsync(), "host stop", server.Options.ShutdownTimeout + TimeSpan.FromSeconds(5));

        foreach (var client in new[] { subscribed, anonymous })
        {
            var (status, reason) = await Wait.ForAsync(client.Closed, "client close");
            Assert.Multiple(() =>
            {
                Assert.That(status, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
                Assert.That(reason, Is.EqualTo("SERVER_SHUTDOWN"));
            });
        }

        Assert.That(server.Manager.ConnectionCount, Is.Zero);
    }

    [Test]
    public async Task Health_IsHealthy_AndCountsTheTransportsConnections()
    {
        var server = await StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);

        var health = server.Manager.GetHealth();

        Assert.Multiple(() =>
        {
            Assert.That(health.Status, Is.EqualTo(LiveUpdatesHealthStatus.Healthy), health.Description);
            Assert.That(health.Connections, Is.EqualTo(1));
        });
    }

    private protected async Task<ILiveServer> StartAsync(Action<LiveUpdatesOptions>? configure = null)
    {
        var server = await StartServerCoreAsync(configure);
        _servers.Add(server);
        return server;
    }

    /// <summary>Attempts an upgrade; the status is 101 when it succeeded (the socket stays open until disposed).</summary>
    private protected static async Task<ClientWebSocket> TryConnectAsync(ILiveServer server, string? origin, string? forwardedFor = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        server.ConfigureClient(socket.Options);
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        if (forwardedFor is not null)
        {
            socket.Options.SetRequestHeader("X-Forwarded-For", forwardedFor);
        }

        try
        {
            await socket.ConnectAsync(server.Uri, CancellationToken.None).WaitAsync(Wait.Default);
        }
        catch (WebSocketException)
        {
            // The refusal's status is in HttpStatusCode.
        }

        return socket;
    }
}
