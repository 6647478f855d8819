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

    private RedisCluster(IReadOnlyList<RedisServer> nodes) => Nodes = nodes;

    /// <summary>Gets the three primaries (slots 0–5460, 5461–10922, 10923–16383 in this order, as <c>--cluster create</c> assigns them).</summary>
    public IReadOnlyList<RedisServer> Nodes { get; }

    /// <summary>Gets the StackExchange.Redis configuration string: every node, so the client finds the cluster from any.</summary>
    public string Configuration => string.Join(",", Nodes.Select(n => n.Configuration));

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

    /// <summary>Starts three cluster-enabled servers, creates the cluster and waits until every node reports it ok.</summary>
    public static async Task<RedisCluster> CreateAsync()
    {
        var nodes = new List<RedisServer>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(await RedisServer.StartAsync(
                    false,
                    "--cluster-enabled", "yes",
                    "--cluster-config-file", "nodes.conf",
                    "--cluster-port", Ports.GetFree().ToString(CultureInfo.InvariantCulture),
                    "--cluster-node-timeout", "2000",
                    "--cluster-require-full-coverage", "no"));
            }

            var cluster = new RedisCluster(nodes);
            await RunCliAsync(["--cluster", "create", .. nodes.Select(n => n.Configuration), "--cluster-replicas", "0", "--cluster-yes"]);
            await cluster.WaitUntilOkAsync(TimeSpan.FromSeconds(30));
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

    /// <summary>Waits until every node answers <c>cluster_state:ok</c>.</summary>
    public async Task WaitUntilOkAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = string.Empty;
        while (true)
        {
            var ok = true;
            foreach (var node in Nodes)
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
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
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
