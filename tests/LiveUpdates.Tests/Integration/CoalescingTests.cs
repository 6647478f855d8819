using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>Latest-value events for a client that is behind, over real sockets.</summary>
[TestFixture]
public sealed class CoalescingTests
{
    private const string Guild = "111111111111111111";

    [TestCase(true)]
    [TestCase(false)]
    public async Task ClientBehind_KeepsOnlyTheNewestConfigUpdated_AndEveryOtherEventInOrder(bool coalesce)
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.CoalesceLatestValueEvents = coalesce;
            o.SendQueueCapacity = 100_000;
            o.SendQueueMaxBytes = 256 * 1024 * 1024;
            o.SendTimeout = TimeSpan.FromMinutes(5);
        });
        var client = await TestClient.ConnectAsync(server.Uri, startReading: false);
        await client.SendAsync(new { type = "auth", token = TestTokens.Create("1", [Guild]) });
        await client.SendAsync(new { type = "subscribe", guildId = Guild });
        await Wait.UntilAsync(() => server.Manager.Connections.Any(c => c.SubscriptionCount == 1), "subscribed");
        var connection = server.Manager.Connections.Single();

        // Put the client well behind: fill its socket buffers until many frames wait in its server-side queue
        // (the kernel may still take a few more as its buffers grow; the tail events must stay queued).
        const int Behind = 100;
        var filler = new string('f', 64 * 1024);
        var fillers = 0;
        while (connection.QueuedMessages < Behind && fillers < 4000)
        {
            server.Manager.Broadcast(Guild, LiveEvents.Moderation.InfractionCreated, new { filler });
            fillers++;
            await server.FlushAsync();
        }

        Assert.That(connection.QueuedMessages, Is.GreaterThanOrEqualTo(Behind), "the client is behind");
        foreach (var (name, n) in new[]
        {
            ("config", 1), ("rule", 1), ("config", 2), ("rule", 2), ("config", 3), ("config", 4), ("rule", 3), ("config", 5),
        })
        {
            server.Manager.Broadcast(Guild, name == "config" ? LiveEvents.Moderation.ConfigUpdated : LiveEvents.Moderation.RuleCreated, new { n });
        }

        await server.FlushAsync();
        await client.SendAsync(new { type = "ping" });

        var tail = new List<(string Event, int N, long Seq)>();
        long lastSeq = 0;
        while (await RawReader.NextAsync(client.Socket) is { } message)
        {
            var name = message.GetProperty("event").GetString()!;
            if (name == "pong")
            {
                break;
            }

            if (!message.TryGetProperty("seq", out var seqElement))
            {
                continue; // connected, authenticated, subscribed
            }

            var seq = seqElement.GetInt64();
            Assert.That(seq, Is.GreaterThan(lastSeq), "sequence numbers only grow");
            lastSeq = seq;
            if (name != LiveEvents.Moderation.InfractionCreated)
            {
                tail.Add((name, message.GetProperty("data").GetProperty("n").GetInt32(), seq));
            }
        }

        var rules = tail.Where(e => e.Event == LiveEvents.Moderation.RuleCreated).Select(e => e.N);
        var configs = tail.Where(e => e.Event == LiveEvents.Moderation.ConfigUpdated).Select(e => e.N).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(rules, Is.EqualTo(new[] { 1, 2, 3 }), "other events are never coalesced");
            Assert.That(configs, Is.EqualTo(coalesce ? new[] { 5 } : new[] { 1, 2, 3, 4, 5 }));
            Assert.That(tail[^1].Event, Is.EqualTo(LiveEvents.Moderation.ConfigUpdated), "the newest value keeps its place in the stream");
        });
        await client.DisposeAsync();
    }
}
