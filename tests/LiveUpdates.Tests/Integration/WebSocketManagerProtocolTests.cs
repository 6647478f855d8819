using System.Net;
using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>The wire protocol over real loopback WebSockets: handshake, auth, subscribe, errors.</summary>
[TestFixture]
public sealed class WebSocketManagerProtocolTests
{
    private const string GuildA = "111111111111111111";
    private const string GuildB = "222222222222222222";

    private TestServer _server = null!;

    [SetUp]
    public async Task SetUp() => _server = await TestServer.StartAsync();

    [TearDown]
    public async Task TearDown() => await _server.DisposeAsync();

    [Test]
    public async Task Connect_SendsConnectedWithTheAuthInstructionsAndTimeouts()
    {
        await using var client = await _server.ConnectAsync();

        var connected = await client.ExpectAsync("connected");

        var data = connected.GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(data.GetProperty("message").GetString(), Does.Contain("auth"));
            Assert.That(data.GetProperty("authTimeoutMs").GetInt64(), Is.EqualTo(10_000));
            Assert.That(data.GetProperty("idleTimeoutMs").GetInt64(), Is.EqualTo(60_000));
            Assert.That(data.GetProperty("pingIntervalMs").GetInt64(), Is.EqualTo(20_000));
        });
    }

    [Test]
    public async Task Auth_ValidToken_ReturnsUserIdAndGuilds()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        var authenticated = await client.AuthenticateAsync(TestTokens.Create("42", [GuildA, GuildB]));

        var data = authenticated.GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(data.GetProperty("userId").GetString(), Is.EqualTo("42"));
            Assert.That(data.GetProperty("guilds").EnumerateArray().Select(g => g.GetString()), Is.EqualTo(new[] { GuildA, GuildB }));
        });
    }

    private static IEnumerable<TestCaseData> BadTokens()
    {
        yield return new TestCaseData(TestTokens.Create("42", [GuildA], secret: TestTokens.OtherSecret), LiveErrorCodes.TokenInvalid).SetName("Auth_WrongSecret_TokenInvalid");
        yield return new TestCaseData(TestTokens.Tamper(TestTokens.Create("42", [GuildA])), LiveErrorCodes.TokenInvalid).SetName("Auth_TamperedSignature_TokenInvalid");
        yield return new TestCaseData(TestTokens.Unsigned("42", [GuildA]), LiveErrorCodes.TokenInvalid).SetName("Auth_AlgNone_TokenInvalid");
        yield return new TestCaseData("not-a-token", LiveErrorCodes.TokenInvalid).SetName("Auth_Garbage_TokenInvalid");
        yield return new TestCaseData(TestTokens.Create("42", [GuildA], now: DateTimeOffset.UtcNow.AddHours(-3)), LiveErrorCodes.TokenExpired).SetName("Auth_Expired_TokenExpired");
        yield return new TestCaseData(TestTokens.Create("42", [GuildA], notBefore: DateTimeOffset.UtcNow.AddHours(1), lifetime: TimeSpan.FromHours(2)), LiveErrorCodes.TokenNotYetValid).SetName("Auth_NotYetValid_TokenNotYetValid");
        yield return new TestCaseData(TestTokens.Create("42", [GuildA], userIdClaim: "uid"), LiveErrorCodes.TokenUserMissing).SetName("Auth_NoUserClaim_TokenUserMissing");
        yield return new TestCaseData("", LiveErrorCodes.TokenMissing).SetName("Auth_EmptyToken_TokenMissing");
    }

    [TestCaseSource(nameof(BadTokens))]
    public async Task Auth_BadToken_ErrorWithStableCode_AndConnectionStaysUsable(string token, string code)
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token });

        var error = await client.ExpectErrorAsync(code);
        Assert.That(error.GetProperty("data").GetProperty("message").GetString(), Does.Not.Contain("signature").IgnoreCase.And.Not.Contain("IDX"));

        // Not authenticated: subscribing is refused, and a good token still works on the same socket.
        await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        await client.ExpectErrorAsync(LiveErrorCodes.AuthRequired);
        await client.AuthenticateAsync(TestTokens.Create("42", [GuildA]));
    }

    [Test]
    public async Task Auth_MissingTokenField_TokenMissing()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth" });

        await client.ExpectErrorAsync(LiveErrorCodes.TokenMissing);
    }

    [Test]
    public async Task Ping_BeforeAuth_IsAnswered()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "ping" });

        var pong = await client.ExpectAsync("pong");
        Assert.That(pong.GetProperty("data").EnumerateObject(), Is.Empty);
    }

    [Test]
    public async Task Subscribe_AllowedGuild_Subscribed_WithTopLevelAndDataGuildId()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("42", [GuildA]));

        await client.SendAsync(new { type = "subscribe", guildId = GuildA });

        var subscribed = await client.ExpectAsync("subscribed");
        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
            Assert.That(subscribed.GetProperty("data").GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
        });
    }

    [Test]
    public async Task Subscribe_GuildNotInToken_Forbidden_AndReceivesNothingOfIt()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("42", [GuildA]));

        await client.SendAsync(new { type = "subscribe", guildId = GuildB });
        var error = await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        Assert.That(error.GetProperty("guildId").GetString(), Is.EqualTo(GuildB));

        _server.Manager.Broadcast(GuildB, "moderation:config_updated", new { secret = true });
        await _server.FlushAsync();
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [Test]
    public async Task Subscribe_MalformedGuildId_InvalidGuildId()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("42", [GuildA]));

        await client.SendAsync(new { type = "subscribe", guildId = "guild-a" });

        await client.ExpectErrorAsync(LiveErrorCodes.InvalidGuildId);
    }

    [TestCase("""{"type":"subscribe","guildId":111}""", LiveErrorCodes.InvalidMessage)]
    [TestCase("""{"type":"auth","token":42}""", LiveErrorCodes.InvalidMessage)]
    [TestCase("""{"type":7}""", LiveErrorCodes.InvalidMessage)]
    [TestCase("""{"guildId":"1"}""", LiveErrorCodes.InvalidMessage)]
    [TestCase("""[1,2,3]""", LiveErrorCodes.InvalidMessage)]
    [TestCase("""{"type":"launch_rockets"}""", LiveErrorCodes.UnknownType)]
    [TestCase("{\"type\":\"ping\"", LiveErrorCodes.InvalidJson)]
    [TestCase("""not json at all""", LiveErrorCodes.InvalidJson)]
    [TestCase("""{"type":"ping"} {"type":"ping"}""", LiveErrorCodes.InvalidJson)]
    public async Task BadMessage_ErrorWithCode_AndConnectionStaysUsable(string text, string code)
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendTextAsync(text);
        await client.ExpectErrorAsync(code);

        await client.SendAsync(new { type = "ping" });
        await client.ExpectAsync("pong");
    }

    [Test]
    public async Task SubscribeBeforeAuth_AuthRequired()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        await client.ExpectErrorAsync(LiveErrorCodes.AuthRequired);
        await client.SendAsync(new { type = "unsubscribe", guildId = GuildA });
        await client.ExpectErrorAsync(LiveErrorCodes.AuthRequired);
    }

    [Test]
    public async Task BinaryFrame_UnsupportedFrame_AndConnectionStaysUsable()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendRawAsync([1, 2, 3], WebSocketMessageType.Binary);
        await client.ExpectErrorAsync(LiveErrorCodes.UnsupportedFrame);

        await client.SendAsync(new { type = "ping" });
        await client.ExpectAsync("pong");
    }

    [Test]
    public async Task OversizedMessage_MessageTooLarge_ThenClose1009()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        var huge = Encoding.UTF8.GetBytes("{\"type\":\"auth\",\"token\":\"" + new string('a', _server.Options.MaxInboundMessageBytes + 10) + "\"}");
        await client.SendRawAsync(huge, WebSocketMessageType.Text);

        await client.ExpectErrorAsync(LiveErrorCodes.MessageTooLarge);
        var (status, reason) = await Wait.ForAsync(client.Closed, "close after oversized message");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.MessageTooBig));
            Assert.That(reason, Is.EqualTo("MESSAGE_TOO_LARGE"));
        });
    }

    [Test]
    public async Task MessageSplitAcrossFrames_IsAssembled()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");
        var text = Encoding.UTF8.GetBytes("{\"type\":\"auth\",\"token\":\"" + TestTokens.Create("42", [GuildA]) + "\"}");

        await client.SendRawAsync(text[..10], WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(text[10..], WebSocketMessageType.Text, endOfMessage: true);

        await client.ExpectAsync("authenticated");
    }

    [Test]
    public async Task PlainHttpRequest_Gets426UpgradeRequired_NotAHang()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{_server.Options.Port}/"));

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UpgradeRequired));
            Assert.That(response.Headers.Upgrade.ToString(), Is.EqualTo("websocket"));
        });
    }

    [Test]
    public async Task OtherPath_Gets404()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{_server.Options.Port}/admin"));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Reauth_AsAnotherUser_DropsTheOldSubscriptions()
    {
        await using var client = await _server.ConnectAuthenticatedAsync("42", [GuildA], GuildA);

        await client.AuthenticateAsync(TestTokens.Create("43", [GuildB]));
        _server.Manager.Broadcast(GuildA, "moderation:config_updated");
        await _server.FlushAsync();

        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [Test]
    public async Task Reauth_AsTheSameUser_WithANarrowerToken_EndsTheSubscriptionsItNoLongerGrants()
    {
        await using var client = await _server.ConnectAuthenticatedAsync("42", [GuildA, GuildB], GuildA, GuildB);

        await client.AuthenticateAsync(TestTokens.Create("42", [GuildB]));
        var revoked = await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        _server.Manager.Broadcast(GuildA, "moderation:config_updated");
        _server.Manager.Broadcast(GuildB, "moderation:config_updated");
        await _server.FlushAsync();
        var after = await client.DrainUntilPongAsync();

        Assert.Multiple(() =>
        {
            Assert.That(revoked.GetProperty("guildId").GetString(), Is.EqualTo(GuildA), "the same FORBIDDEN + guild id as a revocation");
            Assert.That(after.Select(m => m.GetProperty("guildId").GetString()), Is.EqualTo(new[] { GuildB }), "G1's events stop, G2's go on");
        });
    }
}
