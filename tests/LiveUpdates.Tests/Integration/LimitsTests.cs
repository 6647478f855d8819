using System.Net;
using System.Net.WebSockets;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>Abuse limits over real sockets: each answered with its status or error code, the server still serving others.</summary>
[TestFixture]
public sealed class LimitsTests
{
    private static readonly string[] Guilds = [.. Enumerable.Range(1, 12).Select(i => $"{i}00000000000000000")];

    [Test]
    public async Task Origin_NotAllowed_Gets403BeforeTheUpgrade_AllowedAndAbsentOriginsConnect()
    {
        await using var server = await TestServer.StartAsync(o => o.AllowedOrigins.Add("https://dashboard.example.com"));

        using var refused = await ConnectWithOrigin(server, "https://evil.example.com");
        using var allowed = await ConnectWithOrigin(server, "https://dashboard.example.com");
        await using var noOrigin = await server.ConnectAsync();

        Assert.Multiple(() =>
        {
            Assert.That(refused.Status, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(allowed.Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
        });
        await noOrigin.ExpectAsync("connected");
    }

    [Test]
    public async Task SubscribeFlood_BeyondTheRate_RateLimited_ThenClose1008()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [Guilds[0]]);

        for (var i = 0; i < 6; i++)
        {
            await client.SendAsync(new { type = i % 2 == 0 ? "subscribe" : "unsubscribe", guildId = Guilds[0] });
        }

        var answers = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var message = await client.NextAsync();
            answers.Add(message.GetProperty("event").GetString() == "error" ? message.GetProperty("data").GetProperty("code").GetString()! : message.GetProperty("event").GetString()!);
        }

        var (status, reason) = await Wait.ForAsync(client.Closed, "close after the flood");
        Assert.Multiple(() =>
        {
            Assert.That(answers, Is.EqualTo(new[] { "subscribed", "unsubscribed", "subscribed", "unsubscribed", "subscribed", LiveErrorCodes.RateLimited }));
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
            Assert.That(reason, Is.EqualTo("RATE_LIMITED"));
        });
    }

    [Test]
    public async Task EleventhGuild_TooManyGuilds_ThenClose1008()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxSubscriptionChangesPerSecond = 100);
        await using var client = await server.ConnectAuthenticatedAsync("1", Guilds);
        for (var i = 0; i < 10; i++)
        {
            await client.SubscribeAsync(Guilds[i]);
        }

        await client.SendAsync(new { type = "subscribe", guildId = Guilds[10] });

        await client.ExpectErrorAsync(LiveErrorCodes.TooManyGuilds);
        var (status, reason) = await Wait.ForAsync(client.Closed, "close after the 11th guild");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
            Assert.That(reason, Is.EqualTo("TOO_MANY_GUILDS"));
        });
    }

    [Test]
    public async Task Connections_BeyondTheTotal_Get503_BeyondThePerAddressLimit_Get429_AndSlotsAreReleased()
    {
        await using var perAddress = await TestServer.StartAsync(o => o.MaxConnectionsPerAddress = 2);
        await using var a1 = await perAddress.ConnectAsync();
        await using var a2 = await perAddress.ConnectAsync();
        Assert.That((await ConnectWithOrigin(perAddress, null)).Status, Is.EqualTo(HttpStatusCode.TooManyRequests));
        await a1.DisposeAsync();
        await Wait.UntilAsync(() => perAddress.Manager.ConnectionCount == 1, "slot released");
        using var again = await ConnectWithOrigin(perAddress, null);
        Assert.That(again.Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));

        await using var total = await TestServer.StartAsync(o => o.MaxConnections = 1);
        await using var only = await total.ConnectAsync();
        Assert.That((await ConnectWithOrigin(total, null)).Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
    }

    [Test]
    public async Task ConnectionsPerAddress_BehindATrustedProxy_CountTheForwardedClient()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MaxConnectionsPerAddress = 1;
            o.TrustedProxies.Add("127.0.0.1");
        });

        using var first = await ConnectWithOrigin(server, null, forwardedFor: "203.0.113.7");
        using var second = await ConnectWithOrigin(server, null, forwardedFor: "203.0.113.8");
        using var third = await ConnectWithOrigin(server, null, forwardedFor: "198.51.100.1, 203.0.113.7");

        Assert.Multiple(() =>
        {
            Assert.That(first.Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
            Assert.That(second.Status, Is.EqualTo(HttpStatusCode.SwitchingProtocols), "another client behind the same proxy");
            Assert.That(third.Status, Is.EqualTo(HttpStatusCode.TooManyRequests), "the last hop names the client");
        });
    }

    /// <summary>Attempts an upgrade and returns the HTTP status (101 when it succeeded; the socket stays open until disposed).</summary>
    private static async Task<StatusHolder> ConnectWithOrigin(TestServer server, string? origin, string? forwardedFor = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
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
            // The status code is in HttpStatusCode below.
        }

        return new StatusHolder(socket);
    }

    private sealed class StatusHolder(ClientWebSocket socket) : IDisposable
    {
        public HttpStatusCode Status { get; } = socket.HttpStatusCode;

        public void Dispose() => socket.Dispose();
    }

    [TestCase(400_000)]
    [TestCase(1024)]
    public async Task MaxInboundMessageBytes_IsExact_ForAnyValue(int limit)
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.MaxInboundMessageBytes = limit;
            o.ReceiveBufferBytes = Math.Min(o.ReceiveBufferBytes, limit);
        });
        await using var atLimit = await server.ConnectAsync();
        await atLimit.ExpectAsync("connected");
        await using var overLimit = await server.ConnectAsync();
        await overLimit.ExpectAsync("connected");

        await atLimit.SendTextAsync(PaddedPing(limit));
        await atLimit.ExpectAsync("pong");
        await overLimit.SendTextAsync(PaddedPing(limit + 1));
        await overLimit.ExpectErrorAsync(LiveErrorCodes.MessageTooLarge);
        var (status, _) = await Wait.ForAsync(overLimit.Closed, "closed");

        Assert.That(status, Is.EqualTo(System.Net.WebSockets.WebSocketCloseStatus.MessageTooBig));
    }

    /// <summary>A ping of exactly <paramref name="bytes"/> bytes (JSON whitespace as padding).</summary>
    private static string PaddedPing(int bytes) => "{\"type\":\"ping\"" + new string(' ', bytes - 15) + "}";
}
