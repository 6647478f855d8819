using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Real WebSocket clients authenticating with dashboard session tokens made by the real next-auth 4 and @auth/core
/// packages (Fixtures/tokens), against a server whose clock is pinned to the fixtures' issue time.
/// </summary>
[TestFixture]
public sealed class WebSocketManagerSessionTokenTests
{
    private static readonly TokenFixtures Fixtures = TokenFixtures.Current;

    private TestServer _server = null!;

    [SetUp]
    public async Task SetUp()
    {
        var expected = Fixtures.CreateOptions();
        _server = await Wait.ForAsync(
            TestServer.StartAsync(
                o =>
                {
                    o.AuthSecret = expected.AuthSecret;
                    o.AcceptSessionTokens = true;
                    o.AdditionalAuthSecrets = expected.AdditionalAuthSecrets;
                    o.SessionCookieNames = expected.SessionCookieNames;
                    o.UserIdClaim = expected.UserIdClaim;
                    o.IdleTimeout = Timeout.InfiniteTimeSpan; // fake time does not move
                },
                timeProvider: new FakeTimeProvider(Fixtures.Now)),
            "server start");
    }

    [TearDown]
    public async Task TearDown() => await Wait.ForAsync(_server.DisposeAsync().AsTask(), "server stop");

    [TestCase("authjs-v5-valid")]
    [TestCase("authjs-v5-secure-cookie")]
    [TestCase("authjs-v5-second-secret")]
    [TestCase("nextauth-v4-valid")]
    [TestCase("nextauth-v4-second-secret")]
    [TestCase("hs256-valid")]
    public async Task Auth_SessionTokenFromTheRealPackage_AuthenticatesAsTheDiscordId_AndReceivesEvents(string name)
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        var authenticated = await client.AuthenticateAsync(Fixtures[name].Token);

        var data = authenticated.GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(data.GetProperty("userId").GetString(), Is.EqualTo(Fixtures.DiscordId));
            Assert.That(data.GetProperty("guilds").EnumerateArray().Select(g => g.GetString()), Is.EqualTo(Fixtures.Guilds));
        });

        var guild = Fixtures.Guilds[0];
        await client.SubscribeAsync(guild);
        _server.Manager.Broadcast(guild, "moderation:config_updated", new { automod = true });
        await _server.FlushAsync();
        var message = await client.ExpectAsync("moderation:config_updated");
        Assert.That(message.GetProperty("data").GetProperty("automod").GetBoolean(), Is.True);
    }

    [Test]
    public async Task Auth_V5ThenV4OnOneSocket_BothAccepted()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        var first = await client.AuthenticateAsync(Fixtures["authjs-v5-valid"].Token);
        var second = await client.AuthenticateAsync(Fixtures["nextauth-v4-valid"].Token);

        Assert.That(
            new[] { first, second }.Select(m => m.GetProperty("data").GetProperty("userId").GetString()),
            Is.All.EqualTo(Fixtures.DiscordId));
    }

    [TestCase("authjs-v5-expired", LiveErrorCodes.TokenExpired)]
    [TestCase("nextauth-v4-expired", LiveErrorCodes.TokenExpired)]
    public async Task Auth_ExpiredSessionToken_ErrorWithStableCode_AndAFreshTokenStillWorks(string name, string code)
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = Fixtures[name].Token });
        await client.ExpectErrorAsync(code);

        await client.AuthenticateAsync(Fixtures["authjs-v5-valid"].Token);
    }

    [Test]
    public async Task Auth_TamperedSessionToken_TokenInvalid_WithNoDetail()
    {
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = TestJwe.FlipBit(Fixtures["authjs-v5-valid"].Token, 4) });

        var error = await client.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
        Assert.That(error.GetProperty("data").GetProperty("message").GetString(), Is.EqualTo("The token is invalid."));
    }
}
