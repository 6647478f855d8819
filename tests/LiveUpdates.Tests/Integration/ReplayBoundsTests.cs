using System.Net.WebSockets;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Recovery replay meets the client's queue bounds (issue 20, item 4): a client that asks for the history again and
/// again (subscribe with <c>lastSeq</c>, unsubscribe, within the rate limit) and never reads is cut off as a slow
/// consumer, the server's queue for it stays bounded, and the other clients are not affected.
/// </summary>
[TestFixture]
public sealed class ReplayBoundsTests
{
    private const string GuildA = "111111111111111111";
    private const string Event = "moderation:infraction_created";

    [Test]
    public async Task SubscribeWithLastSeqLoop_ByANonReadingClient_IsCutWith1013_WithABoundedQueue_AndOthersKeepReceiving()
    {
        const int History = 256;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HistoryCapacity = History;
            o.SendQueueCapacity = 64; // a bound the loop's replays (256 frames each) would pass within a few rounds
            o.CloseTimeout = TimeSpan.FromMinutes(1); // let the slow reader reach the close frame at the end
            o.SendTimeout = TimeSpan.FromMinutes(1); // the stuck send must not end it first (by a reset, not 1013)
        });
        await using var healthy = await server.ConnectAuthenticatedAsync("2", [GuildA], GuildA);

        // A full history of 8 KiB events: each recovering subscribe asks for 2 MiB.
        var payload = new string('r', 8 * 1024);
        for (var i = 0; i < History; i++)
        {
            server.Manager.Broadcast(GuildA, Event, new { i, payload });
        }

        for (var i = 0; i < History; i++)
        {
            await healthy.ExpectAsync(Event);
        }

        var slow = await TestClient.ConnectAsync(server.Uri, startReading: false);
        await slow.SendAsync(new { type = "auth", token = TestTokens.Create("1", [GuildA]) });
        await Wait.UntilAsync(() => server.Manager.Connections.Any(c => c.User?.UserId == "1"), "slow client authenticated");
        var connection = server.Manager.Connections.Single(c => c.User?.UserId == "1");

        // The loop from the issue, paced under MaxSubscriptionChangesPerSecond (5): 4 messages a second.
        var pace = TimeSpan.FromMilliseconds(250);
        var maxQueued = 0;
        var rounds = 0;
        for (; rounds < 30 && !connection.IsClosing; rounds++)
        {
            await slow.SendAsync(new { type = "subscribe", guildId = GuildA, lastSeq = 0, epoch = server.Manager.Epoch });
            await Task.Delay(pace);
            maxQueued = Math.Max(maxQueued, connection.QueuedMessages);
            await slow.SendAsync(new { type = "unsubscribe", guildId = GuildA });
            await Task.Delay(pace);
            maxQueued = Math.Max(maxQueued, connection.QueuedMessages);
        }

        TestContext.Out.WriteLine($"rounds: {rounds}, most frames queued for the slow client: {maxQueued}");
        Assert.Multiple(() =>
        {
            Assert.That(connection.IsClosing, Is.True, $"the client was still served after {rounds} replays of {History} events");
            Assert.That(maxQueued, Is.LessThanOrEqualTo(History + (server.Options.SendQueueCapacity * 16)), "at most one replay outside the bounds, the rest within them (overflow included)");
        });

        // The others are unaffected: a broadcast after the cut still arrives.
        server.Manager.Broadcast(GuildA, "moderation:stats_updated", new { after = true });
        await healthy.ExpectAsync("moderation:stats_updated");

        // The slow client, once it reads, finds the close frame: 1013 SLOW_CONSUMER.
        var buffer = new byte[64 * 1024];
        WebSocketReceiveResult result;
        do
        {
            result = await slow.Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait.Default);
        }
        while (result.MessageType != WebSocketMessageType.Close);

        Assert.Multiple(() =>
        {
            Assert.That((int?)slow.Socket.CloseStatus, Is.EqualTo(1013));
            Assert.That(slow.Socket.CloseStatusDescription, Is.EqualTo("SLOW_CONSUMER"));
        });
        await slow.DisposeAsync();
    }
}
