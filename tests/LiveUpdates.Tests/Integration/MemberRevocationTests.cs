using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// <see cref="WebSocketManager.InvalidateMemberAccessAsync(string, string, CancellationToken)"/>: a member removed from a
/// guild loses its feed at once (FORBIDDEN, nothing broadcast after the call), and nobody else is re-checked.
/// The same across instances is in <c>RedisScaleOutTests</c>.
/// </summary>
[TestFixture]
public sealed class MemberRevocationTests
{
    private const string G = "111111111111111111";
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    [Test]
    public async Task ARemovedModerator_GetsForbiddenWithinASecond_AndNothingBroadcastAfterTheCall_OthersAreUntouched()
    {
        var policy = new SwitchableAccessPolicy();
        policy.Set("mod", G, allowed: true);
        policy.Set("other", G, allowed: true);
        await using var server = await TestServer.StartAsync(accessPolicy: _ => policy);
        await using var moderator = await server.ConnectAuthenticatedAsync("mod", [G], G);
        await using var other = await server.ConnectAuthenticatedAsync("other", [G], G);
        var otherChecks = policy.ChecksOf("other");

        policy.Set("mod", G, allowed: false); // the bot saw the member leave, be banned or lose a role
        await Wait.ForAsync(server.Manager.InvalidateMemberAccessAsync(G, "mod"), "the member's re-check", OneSecond);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 });

        var refused = await moderator.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        var afterwards = await moderator.DrainUntilPongAsync();
        var delivered = await other.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        Assert.Multiple(() =>
        {
            Assert.That(refused.GetProperty("guildId").GetString(), Is.EqualTo(G));
            Assert.That(afterwards, Is.Empty, "the removed member receives nothing broadcast after the call");
            Assert.That(delivered.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(1));
            Assert.That(policy.ChecksOf("other"), Is.EqualTo(otherChecks), "only the named member was re-checked");
        });
    }

    [Test]
    public async Task AMemberWhoKeepsAccess_StaysSubscribed_AndTheUlongFormNamesTheSameMember()
    {
        var policy = new SwitchableAccessPolicy();
        policy.Set("42", G, allowed: true);
        await using var server = await TestServer.StartAsync(accessPolicy: _ => policy);
        await using var member = await server.ConnectAuthenticatedAsync("42", [G], G);
        var checks = policy.ChecksOf("42");

        await Wait.ForAsync(server.Manager.InvalidateMemberAccessAsync(111111111111111111UL, 42UL), "the member's re-check", OneSecond);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 2 });

        var delivered = await member.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        Assert.Multiple(() =>
        {
            Assert.That(policy.ChecksOf("42"), Is.EqualTo(checks + 1), "re-checked once");
            Assert.That(delivered.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(2));
        });
    }
}
