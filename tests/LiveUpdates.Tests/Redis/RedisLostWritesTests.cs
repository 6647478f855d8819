using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Redis losing writes it had acknowledged, and failovers, against real redis-server processes (issue 19, items 1 and
/// 3): a restart from a snapshot taken seconds earlier (at once, and after being down a while), the promotion of a
/// replica that lagged, and a coordinated <c>FAILOVER</c>. A busy guild (<see cref="LoadUnderFault"/>): lost with no
/// signal, duplicated, and positions naming two events must all be zero.
/// </summary>
[TestFixture]
public sealed class RedisLostWritesTests
{
    private readonly List<RedisServer> _redis = [];
    private readonly List<TestServer> _servers = [];
    private readonly List<RedisBroker> _brokers = [];
    private string _prefix = string.Empty;
    private LoadUnderFault? _run;

    [SetUp]
    public void NewPrefix() => _prefix = "lost-" + Guid.NewGuid().ToString("N");

    [TearDown]
    public async Task TearDown()
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

        foreach (var redis in _redis)
        {
            await redis.DisposeAsync();
        }

        _servers.Clear();
        _brokers.Clear();
        _redis.Clear();
    }

    /// <summary>Item 1 (a): Redis restarted from an RDB snapshot taken a moment before (the writes after it are gone), at once or after being down a while.</summary>
    [TestCase(500, 0)]
    [TestCase(1500, 3000)]
    public async Task RedisRestartedFromAnOlderSnapshot_NothingLostUnsignalled_NoDuplicate_NoPositionNamesTwoEvents(int lostMs, int downMs)
    {
        var redis = await StartRedisAsync();
        var run = await StartRunAsync(redis.Configuration);

        var counts = await run.RunAsync(async () =>
        {
            Assert.That(await redis.CommandAsync("SAVE"), Does.StartWith("+OK"));
            await Task.Delay(lostMs); // acknowledged writes, delivered to clients, that the snapshot does not have
            await redis.KillAsync();
            await Task.Delay(downMs);
            await redis.RestartAsync(); // loads dump.rdb: the stream as it was 1.5 s ago, same epoch
        });

        counts.AssertGuarantee();
        Assert.That(counts.Refetches, Is.GreaterThan(0), "the lost writes are signalled");
    }

    /// <summary>Item 1 (b): the replica missed the last writes (paused), the primary dies, the replica is promoted.</summary>
    [Test]
    public async Task ALaggingReplicaPromoted_NothingLostUnsignalled_NoDuplicate_NoPositionNamesTwoEvents()
    {
        var primary = await StartRedisAsync();
        var replica = await StartRedisAsync("--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitForReplicaAsync(replica);
        var run = await StartRunAsync($"{primary.Configuration},{replica.Configuration}", positionCheck: TimeSpan.FromSeconds(10));

        var counts = await run.RunAsync(async () =>
        {
            // The replica loses its link and cannot get it back (the primary now wants a password the replica does not
            // have; the instances' connections stay authenticated): what follows is acknowledged by the primary,
            // delivered to clients, and never replicated.
            Assert.That(await primary.CommandAsync("CONFIG", "SET", "requirepass", "lagging"), Does.StartWith("+OK"));
            await KillReplicaLinkAsync(primary);
            await Task.Delay(500);
            await primary.KillAsync();
            Assert.That(await replica.CommandAsync("REPLICAOF", "NO", "ONE"), Does.StartWith("+OK"));
            await Wait.UntilAsync(() => _brokers.All(b => b.OutboxLength == 0), "the instances publish to the promoted replica", TimeSpan.FromSeconds(30));
        });

        counts.AssertGuarantee();
        Assert.That(counts.Refetches, Is.GreaterThan(0), "the lost writes are signalled");
    }

    /// <summary>Item 3: a coordinated FAILOVER loses nothing: the instances follow it at once, nobody refetches.</summary>
    [Test]
    public async Task ACoordinatedFailover_IsFollowedAtOnce_NothingLost_NoRefetch()
    {
        var primary = await StartRedisAsync();
        var replica = await StartRedisAsync("--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await WaitForReplicaAsync(replica);
        var run = await StartRunAsync($"{primary.Configuration},{replica.Configuration}");
        var followed = TimeSpan.Zero;

        var counts = await run.RunAsync(async () =>
        {
            Assert.That(await primary.CommandAsync("FAILOVER"), Does.StartWith("+OK"));
            var started = System.Diagnostics.Stopwatch.StartNew();
            await Wait.UntilAsync(() => IsPrimary(replica), "the replica becomes the primary", TimeSpan.FromSeconds(30));
            await Task.Delay(100);
            var before = Published();
            await Wait.UntilAsync(() => Published() > before + 50, "publishing resumes on the new primary", TimeSpan.FromSeconds(120));
            followed = started.Elapsed;
        });

        TestContext.Progress.WriteLine($"publishing resumed on the new primary {followed.TotalMilliseconds:F0} ms after FAILOVER");
        counts.AssertGuarantee();
        Assert.Multiple(() =>
        {
            Assert.That(counts.Refetches, Is.Zero, "a coordinated failover loses nothing: nobody refetches");
            Assert.That(counts.Clients.Sum(c => c.Missing), Is.Zero, "nothing missing");
        });

        long Published() => long.TryParse(replica.CommandAsync("HGET", $"{_prefix}:{{{LoadUnderFault.G}}}:meta", "s").GetAwaiter().GetResult().Split("\r\n")[1], out var s) ? s : 0;
    }

    /// <summary>Cuts a primary's replication links, the primary having been given the password <c>lagging</c> (its replicas cannot come back).</summary>
    internal static async Task KillReplicaLinkAsync(RedisServer primary)
    {
        // One connection: AUTH, then CLIENT KILL, on the same socket.
        using var client = new System.Net.Sockets.TcpClient();
        await client.ConnectAsync("127.0.0.1", primary.Port);
        var stream = client.GetStream();
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes("AUTH lagging\r\nCLIENT KILL TYPE replica\r\n"));
        var buffer = new byte[256];
        var text = string.Empty;
        while (text.Split("\r\n").Length < 3)
        {
            text += System.Text.Encoding.ASCII.GetString(buffer, 0, await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10)));
        }

        Assert.That(text, Does.StartWith("+OK\r\n:1"), "the replica's link was cut");
    }

    private static bool IsPrimary(RedisServer redis) => redis.CommandAsync("ROLE").GetAwaiter().GetResult().Contains("master", StringComparison.Ordinal);

    private static async Task WaitForReplicaAsync(RedisServer replica)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(await replica.CommandAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the replica is in sync");
            await Task.Delay(50);
        }
    }

    private async Task<RedisServer> StartRedisAsync(params string[] extra)
    {
        var redis = await RedisServer.StartAsync(false, extra);
        _redis.Add(redis);
        return redis;
    }

    private async Task<LoadUnderFault> StartRunAsync(string configuration, TimeSpan? positionCheck = null)
    {
        for (var i = 0; i < 2; i++)
        {
            var broker = new RedisBroker(
                new RedisBrokerOptions
                {
                    Configuration = configuration + ",connectTimeout=1000",
                    KeyPrefix = _prefix,
                    OperationTimeout = TimeSpan.FromSeconds(1),
                    PositionCheckInterval = positionCheck ?? TimeSpan.FromSeconds(1),
                    HistoryCapacity = 100_000, // the whole run stays in the stream: each missing event's position can be looked up
                },
                TestServer.LoggerFactory);
            _brokers.Add(broker);
            _servers.Add(await TestServer.StartAsync(o => o.PermissionCategories["moderation"] = ["moderation.manage_config"], broker: broker));
        }

        _run = new LoadUnderFault(_servers, _brokers, $"{_prefix}:{{{LoadUnderFault.G}}}:meta", $"{_prefix}:{{{LoadUnderFault.G}}}:stream");
        await _run.ConnectAsync();
        return _run;
    }
}
