using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Revocation by user (issue 20, item 2): <see cref="WebSocketManager.DisconnectUserAsync(string, CancellationToken)"/>
/// closes every socket of the user with 4001 USER_DISCONNECTED, and nothing broadcast after the call reaches them.
/// </summary>
[TestFixture]
public sealed class UserDisconnectTests
{
    private const string Guild = "111111111111111111";

    [Test]
    public async Task DisconnectUser_ClosesEverySocketOfTheUser_With4001_NothingAfterTheCall_OthersUntouched()
    {
        await using var server = await TestServer.StartAsync();
        await using var tab1 = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);
        await using var tab2 = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);
        await using var other = await server.ConnectAuthenticatedAsync("2", [Guild], Guild);

        await server.Manager.DisconnectUserAsync(1UL);
        server.Manager.Broadcast(Guild, LiveEvents.Moderation.RuleCreated, new { after = true });

        foreach (var tab in new[] { tab1, tab2 })
        {
            var (status, reason) = await Wait.ForAsync(tab.Closed, "the user's socket closes");
            Assert.Multiple(() =>
            {
                Assert.That((int?)status, Is.EqualTo(4001));
                Assert.That(reason, Is.EqualTo("USER_DISCONNECTED"));
                Assert.That(tab.TakeAllBuffered().Select(m => m.GetProperty("event").GetString()), Has.No.Member(LiveEvents.Moderation.RuleCreated), "nothing broadcast after the call");
            });
        }

        await other.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        Assert.That(server.Manager.Connections.Count(c => c.User?.UserId == "2"), Is.EqualTo(1));
    }

    [Test]
    public async Task DisconnectUser_OfAUserWithNoSocket_ChangesNothing()
    {
        await using var server = await TestServer.StartAsync();
        await using var other = await server.ConnectAuthenticatedAsync("2", [Guild], Guild);
        await server.Manager.DisconnectUserAsync("1");
        server.Manager.Broadcast(Guild, LiveEvents.Moderation.RuleCreated);
        await other.ExpectAsync(LiveEvents.Moderation.RuleCreated);
    }
}
