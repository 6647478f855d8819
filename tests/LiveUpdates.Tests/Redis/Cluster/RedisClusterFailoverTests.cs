using System.Diagnostics;
using System.Globalization;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis.Cluster;

/// <summary>
/// Failovers in a Redis Cluster with replicas (three primaries, one replica each, <c>cluster-node-timeout</c> 1 s; made
/// for this class, since the tests change its roles): events flow from two instances into a guild on each shard while
/// clients stay and hop between the instances (<see cref="LoadUnderFault"/>), and one shard fails over — its primary
/// SIGKILLed and its replica promoted by the cluster, or a coordinated <c>CLUSTER FAILOVER</c>. Lost with no signal,
/// duplicated, and positions naming two events must all be zero; the other shards' guilds never refetch.
/// </summary>
[TestFixture]
public sealed class RedisClusterFailoverTests
{
    private readonly List<TestServer> _servers = [];
    private readonly List<RedisBroker> _brokers = [];
    private RedisCluster _cluster = null!;
    private LoadUnderFault? _run;
    private string _prefix = string.Empty;

    [OneTimeSetUp]
    public async Task CreateCluster() => _cluster = await RedisCluster.CreateAsync(withReplicas: true, nodeTimeoutMs: 1000);

    [OneTimeTearDown]
    public async Task StopCluster() => await _cluster.DisposeAsync();

    [SetUp]
    public void NewPrefix() => _prefix = "cfo-" + Guid.NewGuid().ToString("N");

    [TearDown]
    public async Task StopServers()
    {
        if (_run is not null)
        {
            await _run.DisposeClientsAsync();
            _run = null;
        }

        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
        _brokers.Clear();
    }

    /// <summary>
    /// (a) A primary SIGKILLed: the cluster promotes its replica (in sync, or lagging: cut off from the primary for the
    /// last half second, so acknowledged writes are lost), and the dead node is restarted meanwhile (it rejoins as a
    /// replica). Writes the dead primary acknowledged may be lost, but only with a signal; the other shards flow on
    /// without a refetch.
    /// </summary>
    [TestCase(false, TestName = "APrimaryKilled_ItsReplicaPromoted_NothingLostUnsignalled_NoDuplicate_NoPositionNamesTwoEvents_OtherShardsNoRefetch")]
    [TestCase(true, TestName = "APrimaryKilled_ALaggingReplicaPromoted_LostWritesSignalled_NoDuplicate_NoPositionNamesTwoEvents_OtherShardsNoRefetch")]
    public async Task APrimaryKilled_ItsReplicaPromoted(bool lagging)
    {
        const int Shard = 2;
        var primary = await _cluster.PrimaryOfAsync(Shard);
        var replica = primary == _cluster.Nodes[Shard] ? _cluster.Replicas[Shard] : _cluster.Nodes[Shard];
        await RedisCluster.WaitUntilInSyncAsync(replica, TimeSpan.FromSeconds(30));
        var guilds = await StartRunAsync();
        TimeSpan promoted = default, resumed = default;
        var othersFlowedWhileDown = false;
        List<(RedisServer Node, string Guild)> others = [];
        foreach (var shard in Enumerable.Range(0, 3).Where(s => s != Shard))
        {
            others.Add((await _cluster.PrimaryOfAsync(shard), guilds[shard]));
        }

        var counts = await _run!.RunAsync(async () =>
        {
            var othersBefore = await Task.WhenAll(others.Select(o => TopAsync(o.Node, o.Guild)));
            if (lagging)
            {
                // The replica loses its link and cannot get it back (the primary now wants a password the replica does
                // not have; the instances' connections stay authenticated): what follows is acknowledged, delivered to
                // clients, and never replicated.
                Assert.That(await primary.CommandAsync("CONFIG", "SET", "requirepass", "lagging"), Does.StartWith("+OK"));
                await RedisLostWritesTests.KillReplicaLinkAsync(primary);
                await Task.Delay(500);
            }

            await primary.KillAsync();
            var clock = Stopwatch.StartNew();

            // The other shards' guilds keep being published while the shard has no primary.
            await Wait.UntilAsync(() => others.Select((o, i) => TopAsync(o.Node, o.Guild).GetAwaiter().GetResult() > othersBefore[i] + 20).All(x => x), "the other shards' guilds are published to", TimeSpan.FromSeconds(30));
            othersFlowedWhileDown = !RedisCluster.IsPrimaryAsync(replica).GetAwaiter().GetResult();

            await Wait.UntilAsync(() => RedisCluster.IsPrimaryAsync(replica).GetAwaiter().GetResult(), "the cluster promotes the replica", TimeSpan.FromSeconds(30));
            promoted = clock.Elapsed;
            var top = await TopAsync(replica, guilds[Shard]);
            await Wait.UntilAsync(() => TopAsync(replica, guilds[Shard]).GetAwaiter().GetResult() > top + 50, "publishing resumes on the promoted replica", TimeSpan.FromSeconds(120));
            resumed = clock.Elapsed;
            await primary.RestartAsync(); // without the password (not saved): rejoins as the new primary's replica, under load
            await RedisCluster.WaitUntilInSyncAsync(primary, TimeSpan.FromSeconds(30));
        });

        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"primary killed{(lagging ? " (replica lagging)" : string.Empty)}: replica promoted after {promoted.TotalMilliseconds:F0} ms, publishing to its guild resumed after {resumed.TotalMilliseconds:F0} ms; the other shards published to while it had no primary: {othersFlowedWhileDown}"));
        counts.AssertGuarantee();
        await AssertSubscribedOnAsync(replica, guilds[Shard]);
        Assert.Multiple(() =>
        {
            foreach (var shard in Enumerable.Range(0, 3).Where(s => s != Shard))
            {
                Assert.That(counts.SignalsPerGuild[guilds[shard]], Is.Zero, $"shard {shard}'s guild: no refetch");
            }

            if (lagging)
            {
                Assert.That(counts.SignalsPerGuild[guilds[Shard]], Is.GreaterThan(0), "the writes the promoted replica lacks are signalled");
            }
        });
    }

    /// <summary>(b) A coordinated <c>CLUSTER FAILOVER</c> run on a replica: nothing is lost, nobody refetches, and publishing to the shard resumes within seconds.</summary>
    [Test]
    public async Task ACoordinatedClusterFailover_NothingLost_NoRefetch_PublishingResumes()
    {
        const int Shard = 1;
        var guilds = await StartRunAsync();
        var replica = await _cluster.PrimaryOfAsync(Shard) == _cluster.Nodes[Shard] ? _cluster.Replicas[Shard] : _cluster.Nodes[Shard];
        await RedisCluster.WaitUntilInSyncAsync(replica, TimeSpan.FromSeconds(30));
        TimeSpan promoted = default, resumed = default;

        var counts = await _run!.RunAsync(async () =>
        {
            Assert.That(await replica.CommandAsync("CLUSTER", "FAILOVER"), Does.StartWith("+OK"));
            var clock = Stopwatch.StartNew();
            await Wait.UntilAsync(() => RedisCluster.IsPrimaryAsync(replica).GetAwaiter().GetResult(), "the replica becomes the primary", TimeSpan.FromSeconds(30));
            promoted = clock.Elapsed;
            var top = await TopAsync(replica, guilds[Shard]);
            await Wait.UntilAsync(() => TopAsync(replica, guilds[Shard]).GetAwaiter().GetResult() > top + 50, "publishing resumes on the new primary", TimeSpan.FromSeconds(120));
            resumed = clock.Elapsed;
        });

        TestContext.Progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"CLUSTER FAILOVER: replica primary after {promoted.TotalMilliseconds:F0} ms, publishing to its guild resumed after {resumed.TotalMilliseconds:F0} ms"));
        counts.AssertGuarantee();
        await AssertSubscribedOnAsync(replica, guilds[Shard]);
        Assert.Multiple(() =>
        {
            Assert.That(counts.Refetches, Is.Zero, "a coordinated failover loses nothing: nobody refetches");
            Assert.That(counts.Clients.Sum(c => c.Missing), Is.Zero, "nothing missing");

            // Not a benchmark: a bound far above "a couple of seconds" that still tells following at once from waiting
            // for the client library's periodic re-read of the roles (a minute).
            Assert.That(resumed, Is.LessThan(TimeSpan.FromSeconds(20)), "publishing to the shard resumes within seconds");
        });
    }

    /// <summary>
    /// (c) An instance that only watches a guild (it never writes to its shard, so no <c>MOVED</c> reply tells its
    /// client library the slot moved) follows a coordinated <c>CLUSTER FAILOVER</c> of that shard: the demoted primary
    /// drops its <c>SSUBSCRIBE</c> and StackExchange.Redis subscribes again on that same node (now a replica, where the
    /// new primary's <c>SPUBLISH</c> never arrives). The instance's next position check moves the subscription to the
    /// new primary and catches up from the stream; the events after that come by pub/sub.
    /// </summary>
    /// <remarks>
    /// The same with the primary SIGKILLed (and restarted: it rejoins as a replica) and the replica promoted by the
    /// cluster. That case passed before the broker moved subscriptions too (the subscription connection fails, and
    /// StackExchange.Redis subscribes again where the slot is served once it re-reads the cluster): regression coverage.
    /// </remarks>
    /// <param name="kill">Whether the primary is killed rather than handed over by <c>CLUSTER FAILOVER</c>.</param>
    [TestCase(false, TestName = "AWatchingOnlyInstance_FollowsACoordinatedFailover_ItsChannelMovesToTheNewPrimary")]
    [TestCase(true, TestName = "AWatchingOnlyInstance_FollowsAPromotionAfterItsPrimaryIsKilled_ItsChannelMovesToTheNewPrimary")]
    public async Task AWatchingOnlyInstance_FollowsAFailover(bool kill)
    {
        const int Shard = 0;
        var primary = await _cluster.PrimaryOfAsync(Shard);
        var replica = primary == _cluster.Nodes[Shard] ? _cluster.Replicas[Shard] : _cluster.Nodes[Shard];
        await RedisCluster.WaitUntilInSyncAsync(replica, TimeSpan.FromSeconds(30));
        var guild = await _cluster.GuildOnNodeAsync(Shard, 13);
        var publisher = await StartInstanceAsync(TimeSpan.FromSeconds(2));
        var watcher = await StartInstanceAsync(TimeSpan.FromSeconds(2));
        await using var client = await watcher.ConnectAuthenticatedAsync("u", [guild], guild);
        publisher.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        Assert.That((await client.ExpectAsync(LiveEvents.Moderation.RuleCreated, TimeSpan.FromSeconds(10))).GetProperty("seq").GetInt64(), Is.EqualTo(1));

        if (kill)
        {
            await primary.KillAsync();
        }
        else
        {
            Assert.That(await replica.CommandAsync("CLUSTER", "FAILOVER"), Does.StartWith("+OK"));
        }

        await Wait.UntilAsync(() => RedisCluster.IsPrimaryAsync(replica).GetAwaiter().GetResult(), "the replica becomes the primary", TimeSpan.FromSeconds(30));
        if (kill)
        {
            await primary.RestartAsync(); // rejoins as the new primary's replica
        }

        publisher.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 2 });
        Assert.That((await client.ExpectAsync(LiveEvents.Moderation.RuleCreated, TimeSpan.FromSeconds(30))).GetProperty("seq").GetInt64(), Is.EqualTo(2), "the event after the failover");

        // The watcher's subscription is on the new primary (the publisher follows none: no client of its own watches), so pub/sub carries the guild again.
        await AssertSubscribedOnAsync(replica, guild, instances: 1);
        publisher.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 3 });
        Assert.That((await client.ExpectAsync(LiveEvents.Moderation.RuleCreated, TimeSpan.FromSeconds(30))).GetProperty("seq").GetInt64(), Is.EqualTo(3));
    }

    /// <summary>
    /// The instances' sharded subscriptions to the guild's channel are on the shard's new primary (<c>PUBSUB
    /// SHARDNUMSUB</c> there): pub/sub follows the slot, the guild does not live on position checks alone.
    /// </summary>
    private async Task AssertSubscribedOnAsync(RedisServer primary, string guild, int instances = 2)
    {
        var channel = $"{_prefix}:{{{guild}}}:ch";
        var reply = string.Empty;
        try
        {
            await Wait.UntilAsync(() => (reply = primary.CommandAsync("PUBSUB", "SHARDNUMSUB", channel).GetAwaiter().GetResult()).EndsWith($"\r\n:{instances}\r\n", StringComparison.Ordinal), $"{instances} instance(s) SSUBSCRIBEd on the new primary", TimeSpan.FromSeconds(15));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Assert.Fail($"the guild's channel is not SSUBSCRIBEd by {instances} instance(s) on the shard's new primary (PUBSUB SHARDNUMSUB: {reply.Replace("\r\n", " ", StringComparison.Ordinal)}): {ex.Message}");
        }
    }

    private async Task<TestServer> StartInstanceAsync(TimeSpan positionCheck)
    {
        var broker = new RedisBroker(
            new RedisBrokerOptions
            {
                Configuration = _cluster.Configuration + ",connectTimeout=1000",
                KeyPrefix = _prefix,
                OperationTimeout = TimeSpan.FromSeconds(1),
                PositionCheckInterval = positionCheck,
                HistoryCapacity = 100_000, // the whole run stays in the streams: each missing event's position can be looked up
            },
            TestServer.LoggerFactory);
        _brokers.Add(broker);
        var server = await TestServer.StartAsync(o => o.PermissionCategories["moderation"] = ["moderation.manage_config"], broker: broker);
        _servers.Add(server);
        return server;
    }

    /// <summary>The guild's top sequence number on <paramref name="node"/> (0 when missing or the node does not answer it).</summary>
    private async Task<long> TopAsync(RedisServer node, string guild)
    {
        try
        {
            // A readonly-less HGET on a replica is MOVED: the answer is 0, which the waits treat as "not yet".
            var reply = await node.CommandAsync("HGET", $"{_prefix}:{{{guild}}}:meta", "s");
            return reply.StartsWith('$') && long.TryParse(reply.Split("\r\n")[1], CultureInfo.InvariantCulture, out var top) ? top : 0;
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException)
        {
            return 0;
        }
    }

    /// <summary>Two instances on the cluster and the load over a guild on each shard (index = shard); returns the guilds.</summary>
    private async Task<string[]> StartRunAsync()
    {
        string[] guilds = [await _cluster.GuildOnNodeAsync(0, 11), await _cluster.GuildOnNodeAsync(1, 11), await _cluster.GuildOnNodeAsync(2, 11)];
        for (var i = 0; i < 2; i++)
        {
            await StartInstanceAsync(TimeSpan.FromSeconds(1));
        }

        _run = new LoadUnderFault(_servers, _brokers, [.. guilds.Select(g => FaultGuild.Under(_prefix, g))]);
        await _run.ConnectAsync();
        return guilds;
    }
}
