using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Connection tokens over real sockets: refusals a dashboard developer sees (with their codes, the socket kept), and a
/// short-lived token renewed in-band before it expires, which keeps the subscription and its events.
/// </summary>
[TestFixture]
public sealed class ConnectionTokenTests
{
    private const string GuildA = "111111111111111111";

    [Test]
    public async Task Auth_TokenForAnotherAudience_IsRefusedWithTokenWrongAudience_AndTheSocketStaysOpen()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = TestTokens.Create("1", [GuildA], audience: "another-service") });
        var error = await client.ExpectErrorAsync(LiveErrorCodes.TokenWrongAudience);

        Assert.That(error.GetProperty("data").GetProperty("message").GetString(), Is.EqualTo("The token is not meant for this server."));
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA]));
        await client.SubscribeAsync(GuildA);
    }

    [Test]
    public async Task Auth_SessionToken_IsRefusedUnlessAcceptSessionTokens()
    {
        var sessionToken = TestJwe.AuthJsV5(TestJwe.Claims(DateTimeOffset.UtcNow), TestTokens.DashboardSecret);
        await using (var server = await TestServer.StartAsync(o => o.AuthSecret = TestTokens.DashboardSecret))
        {
            await using var client = await server.ConnectAsync();
            await client.ExpectAsync("connected");
            await client.SendAsync(new { type = "auth", token = sessionToken });
            await client.ExpectErrorAsync(LiveErrorCodes.TokenWrongAudience);
        }

        await using (var server = await TestServer.StartAsync(o => (o.AuthSecret, o.AcceptSessionTokens, o.UserIdClaim) = (TestTokens.DashboardSecret, true, "discordId")))
        {
            await using var client = await server.ConnectAsync();
            await client.ExpectAsync("connected");
            var authenticated = await client.AuthenticateAsync(sessionToken);
            Assert.That(authenticated.GetProperty("data").GetProperty("userId").GetString(), Is.EqualTo("123456789012345678"));
        }
    }

    [Test]
    public async Task Auth_ConnectionTokenSignedWithTheDashboardsAuthSecret_IsRefused()
    {
        // The bot holds AUTH_SECRET only for session tokens; whoever else has it (the dashboard, a leak) cannot mint for the socket.
        await using var server = await TestServer.StartAsync(o => (o.AuthSecret, o.AcceptSessionTokens) = (TestTokens.DashboardSecret, true));
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = TestTokens.Create("1", [GuildA], secret: TestTokens.DashboardSecret) });

        await client.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ShortLivedToken_RenewedInBandBeforeExpiry_KeepsTheSubscription_PastTheFirstTokensExpiry()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.ClockSkew = TimeSpan.Zero;
                // The fake clock jumps minutes ahead; only expiry is under test (a send still being completed on the
                // server when the clock jumps must not count as stuck).
                o.IdleTimeout = Timeout.InfiniteTimeSpan;
                o.SendTimeout = TimeSpan.FromHours(1);
            },
            timeProvider: clock);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");
        var first = await client.AuthenticateAsync(TestTokens.Create("1", [GuildA], now: clock.GetUtcNow(), lifetime: TimeSpan.FromMinutes(2)));
        await client.SubscribeAsync(GuildA);

        // The server says when the token expires, by its own clock: the client renews a quarter of the lifetime early.
        Assert.That(first.GetProperty("data").GetProperty("expiresInMs").GetInt64(), Is.InRange(119_000, 120_000));
        clock.Advance(TimeSpan.FromSeconds(90));
        var renewed = await client.AuthenticateAsync(TestTokens.Create("1", [GuildA], now: clock.GetUtcNow(), lifetime: TimeSpan.FromMinutes(2)));
        Assert.That(renewed.GetProperty("data").GetProperty("expiresInMs").GetInt64(), Is.InRange(119_000, 120_000));

        clock.Advance(TimeSpan.FromSeconds(60)); // past the first token's expiry, within the second's
        server.Manager.Broadcast(GuildA, "moderation:rule_created");
        await server.FlushAsync();

        var received = await client.DrainUntilPongAsync();
        Assert.That(received.Select(m => m.GetProperty("event").GetString()), Is.EqualTo(new[] { "moderation:rule_created" }), "no TOKEN_EXPIRED, no re-subscribe, the event");
    }
}
