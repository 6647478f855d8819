using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis.Cluster;

/// <summary>
/// One primary of the shared three-primary Redis Cluster killed (SIGKILL) or paused (SIGSTOP) under two instances: the guilds on the other
/// nodes keep flowing without a refetch; the guild on the killed node gets its events or a refetch once the node is
/// back (a killed node comes back empty: no persistence), never a silent loss. The node is restarted (or resumed) and the cluster ok again
/// before the test ends, for the other cluster tests.
/// </summary>
[TestFixture]
public sealed class RedisClusterNodeFailureTests
{
    private readonly List<TestServer> _servers = [];
    private RedisCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task JoinCluster() => _cluster = await RedisCluster.SharedAsync();

    [TearDown]
    public async Task StopServers()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    [TestCase(false, TestName = "APrimaryKilled_GuildsOnOtherNodesKeepFlowing_WithoutRefetch_ItsOwnGuildRecoversOrRefetches")]
    [TestCase(true, TestName = "APrimaryPaused_GuildsOnOtherNodesKeepFlowing_WithoutRefetch_ItsOwnGuildRecoversOrRefetches")]
    public async Task ANodeDown_GuildsOnOtherNodesKeepFlowing_WithoutRefetch_ItsOwnGuildRecoversOrRefetches(bool pause)
    {
        var prefix = "cfail-" + Guid.NewGuid().ToString("N");
        var onNode0 = await _cluster.GuildOnNodeAsync(0, 7);
        var onNode1 = await _cluster.GuildOnNodeAsync(1, 7);
        var onKilled = await _cluster.GuildOnNodeAsync(2, 7);
        string[] guilds = [onNode0, onNode1, onKilled];
        var a = await StartInstanceAsync(prefix);
        var b = await StartInstanceAsync(prefix);
        await using var onA = await a.ConnectAuthenticatedAsync("u", guilds, guilds);
        await using var onB = await b.ConnectAuthenticatedAsync("u", guilds, guilds);

        Broadcast(a, guilds, 0, 5);
        foreach (var client in new[] { onA, onB })
        {
            var before = await ReadUntilAsync(client, r => guilds.All(g => Events(r, g).Count == 5));
            Assert.That(Refetches(before), Is.Empty);
        }

        var killed = _cluster.Nodes[2];
        if (pause)
        {
            killed.Pause(); // SIGSTOP: no connection failure, its commands time out (OperationTimeout 1 s)
        }
        else
        {
            await killed.KillAsync();
        }

        try
        {
            // While the node is down: A and B broadcast to every guild; the guilds on the two live nodes flow on.
            Broadcast(b, guilds, 5, 5);
            Broadcast(a, guilds, 10, 5);
            foreach (var client in new[] { onA, onB })
            {
                var during = await ReadUntilAsync(client, r => Events(r, onNode0).Count == 10 && Events(r, onNode1).Count == 10, TimeSpan.FromSeconds(15));
                Assert.Multiple(() =>
                {
                    foreach (var guild in new[] { onNode0, onNode1 })
                    {
                        Assert.That(Events(during, guild).Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(6, 10).Select(k => (long)k)), $"{guild} (a live node): every event once, in order, while another node is down");
                        Assert.That(Refetches(during).Where(r => r.GetProperty("guildId").GetString() == guild), Is.Empty, $"{guild} (a live node): no refetch");
                    }

                    Assert.That(Events(during, onKilled), Is.Empty, "nothing of the killed node's guild while it is down");
                });
            }
        }
        finally
        {
            if (pause)
            {
                killed.Resume();
            }
            else
            {
                await killed.RestartAsync();
            }

            await _cluster.WaitUntilOkAsync(TimeSpan.FromSeconds(30));
        }

        // The node is back, empty: its guild's clients get what waited (a new epoch) or a refetch — told either way.
        Broadcast(a, [onKilled], 15, 1);
        foreach (var client in new[] { onA, onB })
        {
            var after = await ReadUntilAsync(client, r => Refetches(r).Any(x => x.GetProperty("guildId").GetString() == onKilled) || Events(r, onKilled).Count >= 11, TimeSpan.FromSeconds(30));
            Assert.That(Refetches(after).Where(r => r.GetProperty("guildId").GetString() != onKilled), Is.Empty, "no refetch of the guilds on the live nodes");
        }
    }

    private static void Broadcast(TestServer server, string[] guilds, int from, int count)
    {
        for (var n = from; n < from + count; n++)
        {
            foreach (var guild in guilds)
            {
                server.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n });
            }
        }
    }

    private static List<JsonElement> Events(List<JsonElement> received, string guild) =>
        [.. received.Where(e => e.GetProperty("event").GetString() != "refetch" && e.GetProperty("guildId").GetString() == guild)];

    private static List<JsonElement> Refetches(List<JsonElement> received) => [.. received.Where(e => e.GetProperty("event").GetString() == "refetch")];

    /// <summary>Reads events and refetch signals until <paramref name="done"/> holds for what was read; fails after <paramref name="timeout"/>.</summary>
    private static async Task<List<JsonElement>> ReadUntilAsync(TestClient client, Func<List<JsonElement>, bool> done, TimeSpan? timeout = null)
    {
        var received = new List<JsonElement>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!done(received))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                Assert.Fail($"not within {timeout}: received {string.Join(", ", received.Select(e => $"{e.GetProperty("event").GetString()} {e.GetProperty("guildId").GetString()} {(e.TryGetProperty("seq", out var s) ? s.ToString() : "")}"))}");
            }

            JsonElement message;
            try
            {
                message = await client.NextAsync(left);
            }
            catch (TimeoutException)
            {
                continue;
            }

            var name = message.GetProperty("event").GetString();
            if (name == "refetch" || (message.TryGetProperty("seq", out _) && name is not ("subscribed" or "error")))
            {
                received.Add(message);
            }
        }

        return received;
    }

    private async Task<TestServer> StartInstanceAsync(string prefix)
    {
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _cluster.Configuration, KeyPrefix = prefix, OperationTimeout = TimeSpan.FromSeconds(1) });
        var server = await TestServer.StartAsync(broker: broker);
        _servers.Add(server);
        return server;
    }
}
