using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;
using static LiveUpdates.Tests.Redis.RedisScaleOutTests;

namespace LiveUpdates.Tests.Redis.Cluster;

/// <summary>
/// Two <see cref="WebSocketManager"/> instances on one real three-primary Redis Cluster, with guilds on every node:
/// clients on both instances get every event of both exactly once, in order, and move between instances with exact
/// recovery; the channels are sharded (<c>SSUBSCRIBE</c> on the node that owns the guild's slot) unless turned off.
/// </summary>
[TestFixture]
public sealed class RedisClusterScaleOutTests
{
    private readonly List<TestServer> _servers = [];
    private RedisCluster _cluster = null!;
    private string _prefix = string.Empty;

    [OneTimeSetUp]
    public async Task JoinCluster() => _cluster = await RedisCluster.SharedAsync();

    [SetUp]
    public void NewPrefix() => _prefix = "cscale-" + Guid.NewGuid().ToString("N");

    [TearDown]
    public async Task StopServers()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    [Test]
    public async Task ClientsOnBothInstances_GetEveryEventOfGuildsOnEveryNode_ExactlyOnce_InOrder_AndRecoverOnTheOtherInstance()
    {
        const int PerInstance = 100;
        var guilds = new[] { await _cluster.GuildOnNodeAsync(0), await _cluster.GuildOnNodeAsync(1), await _cluster.GuildOnNodeAsync(2) };
        var a = await StartInstanceAsync();
        var b = await StartInstanceAsync();
        var clients = new List<TestClient>();
        foreach (var server in _servers)
        {
            clients.Add(await server.ConnectAuthenticatedAsync("u", guilds, guilds));
            clients.Add(await server.ConnectAuthenticatedAsync("u", guilds, guilds));
        }

        var mover = await a.ConnectAuthenticatedAsync("u", guilds, guilds);

        await Task.WhenAll(_servers.Select((server, origin) => Task.Run(() =>
        {
            for (var n = 0; n < PerInstance; n++)
            {
                foreach (var guild in guilds)
                {
                    server.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { o = origin, n });
                }
            }
        })));

        var epochs = new Dictionary<string, string>();
        foreach (var client in clients.Append(mover))
        {
            var received = await ReceiveEventsAsync(client, guilds.Length * 2 * PerInstance);
            AssertEveryEventOnceInOrder(received, guilds, 2 * PerInstance, 2, PerInstance);
            foreach (var guild in guilds)
            {
                epochs[guild] = received.First(e => e.GetProperty("guildId").GetString() == guild).GetProperty("epoch").GetString()!;
            }
        }

        // The mover leaves A with its positions, both instances broadcast, and it comes back on B: replay, then live.
        await mover.DisposeAsync();
        for (var n = 0; n < 10; n++)
        {
            foreach (var guild in guilds)
            {
                (n % 2 == 0 ? a : b).Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { o = 9, n });
            }
        }

        await a.FlushAsync();
        await b.FlushAsync();
        await using var moved = await b.ConnectAuthenticatedAsync("u", guilds);
        foreach (var guild in guilds)
        {
            var subscribed = await moved.SubscribeAsync(guild, 2 * PerInstance, epochs[guild]);
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True, $"{guild}: recovered from the cluster");
            var replayed = await ReceiveEventsAsync(moved, 10);
            Assert.That(replayed.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(2 * PerInstance + 1, 10).Select(k => (long)k)), $"{guild}: what it missed, once each, in order");
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Test]
    public async Task ByDefault_OnACluster_ChannelsAreSharded_SubscribedOnTheNodeThatOwnsTheGuild_AndDeliveryWorks()
    {
        var guild = await _cluster.GuildOnNodeAsync(1);
        var channel = $"{_prefix}:{{{guild}}}:ch";
        var a = await StartInstanceAsync();
        var b = await StartInstanceAsync();
        await using var onA = await a.ConnectAuthenticatedAsync("u", [guild], guild);
        await using var onB = await b.ConnectAuthenticatedAsync("u", [guild], guild);

        b.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        Assert.That((await ReceiveEventsAsync(onA, 1)).Single().GetProperty("seq").GetInt64(), Is.EqualTo(1), "B's event reaches A's client");
        Assert.That((await ReceiveEventsAsync(onB, 1)).Single().GetProperty("seq").GetInt64(), Is.EqualTo(1));

        var owner = _cluster.NodeOfSlot(await _cluster.SlotOfAsync(channel));
        Assert.Multiple(async () =>
        {
            Assert.That(await owner.CommandAsync("PUBSUB", "SHARDNUMSUB", channel), Does.EndWith($"\r\n:2\r\n"), "both instances SSUBSCRIBEd on the node that owns the slot");
            foreach (var node in _cluster.Nodes)
            {
                Assert.That(await node.CommandAsync("PUBSUB", "NUMSUB", channel), Does.EndWith("\r\n:0\r\n"), $"no classic subscription on node {node.Port}");
            }
        });
    }

    [Test]
    public async Task ShardedPubSubOff_OnACluster_ChannelsAreClassic_AndDeliveryWorks()
    {
        var guild = await _cluster.GuildOnNodeAsync(2);
        var channel = $"{_prefix}:{{{guild}}}:ch";
        var a = await StartInstanceAsync(sharded: false);
        var b = await StartInstanceAsync(sharded: false);
        await using var onA = await a.ConnectAuthenticatedAsync("u", [guild], guild);

        b.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        Assert.That((await ReceiveEventsAsync(onA, 1)).Single().GetProperty("seq").GetInt64(), Is.EqualTo(1), "B's event reaches A's client");

        var subscribed = 0;
        foreach (var node in _cluster.Nodes)
        {
            Assert.That(await node.CommandAsync("PUBSUB", "SHARDNUMSUB", channel), Does.EndWith("\r\n:0\r\n"), $"no sharded subscription on node {node.Port}");
            subscribed += (await node.CommandAsync("PUBSUB", "NUMSUB", channel)).EndsWith("\r\n:1\r\n", StringComparison.Ordinal) ? 1 : 0;
        }

        Assert.That(subscribed, Is.EqualTo(1), "A's classic SUBSCRIBE, on one node");
    }

    [Test]
    public async Task ByDefault_OnAStandaloneServer_ChannelsAreClassic()
    {
        await using var standalone = await RedisServer.StartAsync();
        var guild = RedisScaleOutTests.G1;
        var channel = $"{_prefix}:{{{guild}}}:ch";
        var server = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = standalone.Configuration, KeyPrefix = _prefix }));
        _servers.Add(server);
        await using var client = await server.ConnectAuthenticatedAsync("u", [guild], guild);
        server.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await ReceiveEventsAsync(client, 1);

        Assert.Multiple(async () =>
        {
            Assert.That(await standalone.CommandAsync("PUBSUB", "NUMSUB", channel), Does.EndWith("\r\n:1\r\n"));
            Assert.That(await standalone.CommandAsync("PUBSUB", "SHARDNUMSUB", channel), Does.EndWith("\r\n:0\r\n"));
        });
    }

    [Test]
    public async Task TheControlStream_OnACluster_CarriesADisconnectedUserToTheOtherInstance()
    {
        // The control stream is an ordinary stream under one hash tag ({liveupdates-control}): one slot, no cross-slot command.
        var guild = await _cluster.GuildOnNodeAsync(0, 3);
        var a = await StartInstanceAsync();
        var b = await StartInstanceAsync();
        await using var onB = await b.ConnectAuthenticatedAsync("1", [guild], guild);
        await using var other = await b.ConnectAuthenticatedAsync("2", [guild], guild);

        await a.Manager.DisconnectUserAsync("1");
        var (status, _) = await Wait.ForAsync(onB.Closed, "the user's socket on the other instance closes");
        a.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { after = true });
        await other.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        Assert.That((int?)status, Is.EqualTo(4001));
    }

    internal static void AssertEveryEventOnceInOrder(List<JsonElement> received, string[] guilds, int perGuild, int instances, int perInstance)
    {
        Assert.That(received.Where(e => e.GetProperty("event").GetString() == "refetch"), Is.Empty, "no refetch: nothing was lost");
        foreach (var guild in guilds)
        {
            var events = received.Where(e => e.GetProperty("guildId").GetString() == guild).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(events.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(1, perGuild).Select(k => (long)k)), $"{guild}: each position once, in stream order");
                Assert.That(events.Select(e => e.GetProperty("epoch").GetString()).Distinct().Count(), Is.EqualTo(1), $"{guild}: one epoch");
                for (var origin = 0; origin < instances; origin++)
                {
                    var ns = events.Where(e => e.GetProperty("data").GetProperty("o").GetInt32() == origin).Select(e => e.GetProperty("data").GetProperty("n").GetInt32());
                    Assert.That(ns, Is.EqualTo(Enumerable.Range(0, perInstance)), $"{guild}: instance {origin}'s events once each, in the order it broadcast them");
                }
            });
        }
    }

    private async Task<TestServer> StartInstanceAsync(bool? sharded = null)
    {
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _cluster.Configuration, KeyPrefix = _prefix, ShardedPubSub = sharded });
        var server = await TestServer.StartAsync(broker: broker);
        _servers.Add(server);
        return server;
    }
}
