using System.Net.WebSockets;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Limits keyed by who the client is (issue 20, item 5): MaxConnectionsPerUser across the instance, and ids in token
/// claims that JavaScript may have rounded.
/// </summary>
[TestFixture]
public sealed class UserLimitsTests
{
    private const string Guild = "111111111111111111";

    [Test]
    public async Task MaxConnectionsPerUser_OneMoreAuth_GetsTooManyConnectionsAndClose1008_OthersUntouched_AndAClosedSlotIsGivenBack()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxConnectionsPerUser = 2);
        await using var first = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);
        var second = await server.ConnectAuthenticatedAsync("1", [Guild]);
        await using var otherUser = await server.ConnectAuthenticatedAsync("2", [Guild], Guild);

        // A re-auth as the same user on the same socket keeps its slot.
        await first.AuthenticateAsync(TestTokens.Create("1", [Guild]));

        await using var third = await server.ConnectAsync();
        await third.ExpectAsync("connected");
        await third.SendAsync(new { type = "auth", token = TestTokens.Create("1", [Guild]) });
        await third.ExpectErrorAsync(LiveErrorCodes.TooManyConnections);
        var (status, reason) = await Wait.ForAsync(third.Closed, "the third connection closes");
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
            Assert.That(reason, Is.EqualTo("TOO_MANY_CONNECTIONS"));
        });

        server.Manager.Broadcast(Guild, LiveEvents.Moderation.RuleCreated);
        await first.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        await otherUser.ExpectAsync(LiveEvents.Moderation.RuleCreated);

        // Closing one of the user's sockets gives its slot back.
        await second.DisposeAsync();
        await Wait.UntilAsync(() => server.Manager.Connections.Count(c => c.User?.UserId == "1") == 1, "the second connection is cleaned up");
        await using var again = await server.ConnectAuthenticatedAsync("1", [Guild]);
    }

    [Test]
    public async Task ReAuthAsAnotherUser_MovesTheSlot()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxConnectionsPerUser = 1);
        await using var socket = await server.ConnectAuthenticatedAsync("1", [Guild]);
        await socket.AuthenticateAsync(TestTokens.Create("2", [Guild]));
        await using var user1Again = await server.ConnectAuthenticatedAsync("1", [Guild]);
        await using var user2Again = await server.ConnectAsync();
        await user2Again.ExpectAsync("connected");
        await user2Again.SendAsync(new { type = "auth", token = TestTokens.Create("2", [Guild]) });
        await user2Again.ExpectErrorAsync(LiveErrorCodes.TooManyConnections);
    }

    [Test]
    public async Task ANumericUserIdAbove2To53_IsRefusedAsTokenInvalid_ASmallOneIsKeptExactly()
    {
        await using var server = await TestServer.StartAsync();
        await using var rounded = await server.ConnectAsync();
        await rounded.ExpectAsync("connected");
        await rounded.SendAsync(new { type = "auth", token = TestTokens.Create(extraClaims: new Dictionary<string, object> { ["sub"] = 1_234_567_890_123_456_789L }, guilds: [Guild]) });
        await rounded.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);

        await using var small = await server.ConnectAsync();
        await small.ExpectAsync("connected");
        await small.SendAsync(new { type = "auth", token = TestTokens.Create(extraClaims: new Dictionary<string, object> { ["sub"] = 42L }, guilds: [Guild]) });
        var authenticated = await small.ExpectAsync("authenticated");
        Assert.That(authenticated.GetProperty("data").GetProperty("userId").GetString(), Is.EqualTo("42"));
    }

    [Test]
    public async Task ANumericGuildIdAbove2To53_InTheToken_GrantsNothing()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");
        var token = TestTokens.Create("1", extraClaims: new Dictionary<string, object> { ["guilds"] = new object[] { 111_111_111_111_111_111L } });
        await client.SendAsync(new { type = "auth", token });
        await client.ExpectAsync("authenticated");
        await client.SendAsync(new { type = "subscribe", guildId = Guild });
        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
    }
}
