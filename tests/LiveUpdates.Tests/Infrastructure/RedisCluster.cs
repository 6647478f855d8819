using System.Diagnostics;
using System.Globalization;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster of three primaries on loopback: three <see cref="RedisServer"/>s with <c>cluster-enabled yes</c>
/// (each with its own directory, <c>cluster-config-file</c> and cluster bus port), joined by
/// <c>redis-cli --cluster create</c>, ready once every node reports <c>cluster_state:ok</c>. Created once per test run
/// (<see cref="SharedAsync"/>) and shared by the cluster tests; a machine where it cannot be made fails them, never
/// skips them. <c>cluster-require-full-coverage no</c>: a node that is down stops only its own slots.
/// </summary>
internal sealed class RedisCluster : IAsyncDisposable
{
    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static RedisCluster? _shared;

    private RedisCluster(IReadOnlyList<RedisServer> nodes, IReadOnlyList<RedisServer> replicas)
    {
        Nodes = nodes;
        Replicas = replicas;
    }

    /// <summary>Gets the three primaries as created (slots 0–5460, 5461–10922, 10923–16383 in this order, as <c>--cluster create</c> assigns them); a failover may since have made one a replica.</summary>
    public IReadOnlyList<RedisServer> Nodes { get; }

    /// <summary>Gets, when created with replicas, the replica of each shard as created (<c>Replicas[i]</c> replicates <c>Nodes[i]</c>); empty otherwise.</summary>
    public IReadOnlyList<RedisServer> Replicas { get; }

    /// <summary>Gets the StackExchange.Redis configuration string: every node, so the client finds the cluster from any.</summary>
    public string Configuration => string.Join(",", Nodes.Concat(Replicas).Select(n => n.Configuration));

    /// <summary>The cluster of this test run, created by the first caller (later callers wait for it); disposed by <see cref="DisposeSharedAsync"/>.</summary>
    public static async Task<RedisCluster> SharedAsync()
    {
        await SharedGate.WaitAsync();
        try
        {
            return _shared ??= await CreateAsync();
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>Stops the shared cluster, if one was made.</summary>
    public static async Task DisposeSharedAsync()
    {
        if (Interlocked.Exchange(ref _shared, null) is { } cluster)
        {
            await cluster.DisposeAsync();
        }
    }

    /// <summary>Starts three cluster-enabled servers (and with <paramref name="withReplicas"/> a replica for each), creates the cluster and waits until every node reports it ok and every replica is in sync.</summary>
    /// <param name="withReplicas">Whether each primary gets a replica (<c>--cluster-replicas 1</c>), which the cluster promotes on its own when the primary fails.</param>
    /// <param name="nodeTimeoutMs"><c>cluster-node-timeout</c>: how long a node may be unreachable before the cluster fails it over.</param>
    public static async Task<RedisCluster> CreateAsync(bool withReplicas = false, int nodeTimeoutMs = 2000)
    {
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 0; i < (withReplicas ? 6 : 3); i++)
            {
                nodes.Add(await RedisServer.StartAsync(
                    false,
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-port", Ports.GetFree().ToString(CultureInfo.InvariantCulture),
                    "--cluster-node-timeout", nodeTimeoutMs.ToString(CultureInfo.InvariantCulture),
                    "--cluster-replica-validity-factor", "0", // a replica may always take over, however long it was cut off
                    "--cluster-require-full-coverage", "no"));
            }

            await RunCliAsync(["--cluster", "create", .. nodes.Select(n => n.Configuration), "--cluster-replicas", withReplicas ? "1" : "0", "--cluster-yes"]);
            var cluster = withReplicas ? await ByShardAsync(nodes) : new RedisCluster(nodes, []);
            await cluster.WaitUntilOkAsync(TimeSpan.FromSeconds(30));
            foreach (var replica in cluster.Replicas)
            {
                await WaitUntilInSyncAsync(replica, TimeSpan.FromSeconds(30));
            }

            return cluster;
        }
        catch
        {
            foreach (var node in nodes)
            {
                await node.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>The node that owns <paramref name="slot"/> (slots as <c>--cluster create</c> split them over three primaries).</summary>
    public RedisServer NodeOfSlot(int slot) => Nodes[slot <= 5460 ? 0 : slot <= 10922 ? 1 : 2];

    /// <summary>The hash slot of a key (<c>CLUSTER KEYSLOT</c>).</summary>
    public async Task<int> SlotOfAsync(string key)
    {
        var reply = await Nodes[0].CommandAsync("CLUSTER", "KEYSLOT", key);
        return int.Parse(reply.AsSpan(1).Trim(), CultureInfo.InvariantCulture);
    }

    /// <summary>A guild id (a snowflake) whose <c>{guildId}</c> hash tag falls on node <paramref name="node"/>, different for each <paramref name="nth"/>.</summary>
    public async Task<string> GuildOnNodeAsync(int node, int nth = 0)
    {
        for (long candidate = 100000000000000000 + (nth * 1000); ; candidate++)
        {
            var id = candidate.ToString(CultureInfo.InvariantCulture);
            if (NodeOfSlot(await SlotOfAsync("{" + id + "}")) == Nodes[node])
            {
                return id;
            }
        }
    }

    /// <summary>Whether <paramref name="node"/> is a primary now (<c>ROLE</c>).</summary>
    public static async Task<bool> IsPrimaryAsync(RedisServer node) => (await node.CommandAsync("ROLE")).Contains("master", StringComparison.Ordinal);

    /// <summary>The node serving shard <paramref name="shard"/> as its primary now: <c>Nodes[shard]</c> or, after a failover, <c>Replicas[shard]</c>.</summary>
    public async Task<RedisServer> PrimaryOfAsync(int shard)
    {
        foreach (var node in Replicas.Count > 0 ? [Nodes[shard], Replicas[shard]] : new[] { Nodes[shard] })
        {
            try
            {
                if (await IsPrimaryAsync(node))
                {
                    return node;
                }
            }
            catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException)
            {
            }
        }

        Assert.Fail($"shard {shard} has no primary");
        return null!;
    }

    /// <summary>Waits until <paramref name="replica"/> reports its link to its primary up (<c>master_link_status:up</c>).</summary>
    public static async Task WaitUntilInSyncAsync(RedisServer replica, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!(await replica.CommandAsync("INFO", "replication")).Contains("master_link_status:up", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the replica on port {replica.Port} was not in sync within {timeout}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>Waits until every node answers <c>cluster_state:ok</c>.</summary>
    public async Task WaitUntilOkAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = string.Empty;
        while (true)
        {
            var ok = true;
            foreach (var node in Nodes.Concat(Replicas))
            {
                try
                {
                    last = await node.CommandAsync("CLUSTER", "INFO");
                    ok &= last.Contains("cluster_state:ok", StringComparison.Ordinal);
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException or TimeoutException)
                {
                    ok = false;
                    last = ex.Message;
                }
            }

            if (ok)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the Redis Cluster did not report cluster_state:ok within {timeout}: {last}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes.Concat(Replicas))
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>Orders six nodes joined with one replica each by shard, as each node reports itself: the primaries by their first slot (<c>CLUSTER NODES</c>, the <c>myself</c> line), each replica beside the primary its <c>ROLE</c> names.</summary>
    private static async Task<RedisCluster> ByShardAsync(List<RedisServer> nodes)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var primaries = new List<(int FirstSlot, RedisServer Node)>();
            var replicaOf = new Dictionary<int, RedisServer>();
            foreach (var node in nodes)
            {
                // <id> <ip:port@cport> <flags> <primary id or -> <ping> <pong> <epoch> <link> <slot range>...
                var myself = (await node.CommandAsync("CLUSTER", "NODES")).Split('\n').Select(l => l.Trim().Split(' ')).FirstOrDefault(f => f.Length >= 8 && f[2].Contains("myself", StringComparison.Ordinal));
                var role = (await node.CommandAsync("ROLE")).Split("\r\n");
                if (myself is { Length: > 8 } && myself[2].Contains("master", StringComparison.Ordinal))
                {
                    primaries.Add((int.Parse(myself[8].Split('-')[0], CultureInfo.InvariantCulture), node));
                }
                else if (role.Length > 5 && role[2] == "slave" && int.TryParse(role[5].TrimStart(':'), CultureInfo.InvariantCulture, out var primaryPort))
                {
                    replicaOf[primaryPort] = node;
                }
            }

            if (primaries.Count == 3 && primaries.All(p => replicaOf.ContainsKey(p.Node.Port)))
            {
                var ordered = primaries.OrderBy(p => p.FirstSlot).Select(p => p.Node).ToList();
                return new RedisCluster(ordered, [.. ordered.Select(p => replicaOf[p.Port])]);
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"the cluster's roles did not settle: {primaries.Count} primaries with slots, {replicaOf.Count} replicas");
            }

            await Task.Delay(50);
        }
    }

    private static async Task RunCliAsync(IEnumerable<string> args)
    {
        var cli = File.Exists("/usr/bin/redis-cli") ? "/usr/bin/redis-cli" : "/usr/local/bin/redis-cli";
        if (!File.Exists(cli))
        {
            Assert.Fail("redis-cli is not installed: the Redis Cluster tests create their cluster with `redis-cli --cluster create` (Debian's redis-tools).");
        }

        var start = new ProcessStartInfo(cli) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            Assert.Fail($"redis-cli {string.Join(' ', start.ArgumentList)} failed ({process.ExitCode}): {await output}{await error}");
        }
    }
}
