using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveUpdates.LoadTest.Clients;

namespace LiveUpdates.LoadTest;

/// <summary>
/// The capacity scenario (issue 21): for each client count (1,000, 10,000 and 100,000 at full size) and each target,
/// a fresh server process; N clients connect and authenticate from several loopback source addresses (127.0.0.2 …,
/// each client socket bound to its address: one address runs out of ephemeral ports), subscribe over 1,000 guilds plus
/// one big guild (10,000 members, capped by N), and the run reports the connect+auth rate, RSS and managed heap per
/// connection (and our share apart from the transport's own: the target's figure minus its floor's, where the floor
/// ran at the same N), the time for one event to reach every member of the big guild (the last receipt after the
/// Broadcast() call; several events, one at a time), and the clients lost. Connection count is what this scenario
/// measures, so it is the one place a benchmark raises the server's limits: <c>MaxConnections</c> (default 10,000) and
/// <c>MaxConnectionsPerAddress</c> (default 100) are raised to N (the server prints them; so does this table).
/// </summary>
internal sealed class CapacityRunner(int[] counts, string[] targets, int addresses, int bigGuild, int guilds, int broadcasts, int port, string? outFile)
{
    private const string BigGuild = "700000000000000000";

    public async Task<int> RunAsync()
    {
        // The server children note when they hand their last frame to the transport (LiveUpdatesBenchServer.LastWrite).
        Environment.SetEnvironmentVariable("LOADTEST_LAST_WRITE", "1");
        var needed = counts.Max() + 4096; // per process: the generator's sockets here, the server's in the child (which inherits the limit)
        var limit = RaiseFileLimit(needed);
        Runner.Log($"open files: {limit} (wanted {needed}){(limit < needed ? " — raise the hard limit (ulimit -Hn, or run as root) for the largest count" : "")}");
        var results = new JsonObject
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            ["machine"] = Runner.Machine(),
            ["settings"] = new JsonObject { ["counts"] = new JsonArray(counts.Select(c => (JsonNode)c).ToArray()), ["addresses"] = addresses, ["bigGuild"] = bigGuild, ["guilds"] = guilds, ["broadcasts"] = broadcasts, ["openFiles"] = limit },
        };
        var runs = new JsonArray();
        foreach (var n in counts)
        {
            foreach (var target in targets)
            {
                Runner.Log($"=== capacity: {target}, {n:N0} clients from {addresses} addresses ===");
                try
                {
                    runs.Add(await RunOneAsync(target, n, port++));
                }
                catch (Exception ex)
                {
                    Runner.Log($"{target} at {n}: FAILED {ex.GetType().Name}: {ex.Message}");
                    runs.Add(new JsonObject { ["target"] = target, ["clients"] = n, ["error"] = ex.Message });
                }
            }
        }

        results["runs"] = runs;
        var table = Markdown(results);
        Console.WriteLine(table);
        if (outFile is not null)
        {
            await File.WriteAllTextAsync(outFile, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            await File.WriteAllTextAsync(Path.ChangeExtension(outFile, ".md"), table);
        }

        return 0;
    }

    private async Task<JsonObject> RunOneAsync(string target, int n, int serverPort)
    {
        var floor = target.EndsWith("-floor", StringComparison.Ordinal);
        var (server, ready) = await ServerChild.StartAsync(target, serverPort, Runner.Secret, n);
        await using var serverScope = server;
        var result = new JsonObject { ["target"] = target, ["clients"] = n, ["nonDefaultSettings"] = JsonNode.Parse(ready.GetProperty("settings").GetRawText()) };
        var uri = new Uri($"ws://127.0.0.1:{serverPort}/");
        var big = Math.Min(bigGuild, n);

        // User k (of `guilds`) may open the big guild and guild k; client i is user i % guilds.
        var tokens = Enumerable.Range(0, guilds).Select(k => Runner.Token($"8{k:D8}", [BigGuild, GuildId(k)])).ToArray();
        var sources = Enumerable.Range(0, addresses).Select(a => IPAddress.Parse($"127.0.0.{a + 2}")).ToArray();
        var clients = new LoadClient?[n];
        using var pinger = new Pinger(clients, 15);
        var mem0 = await server.SendAsync("mem");

        var failed = 0;
        var watch = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
        {
            try
            {
                clients[i] = await LoadClient.ConnectAsync(uri, tokens[i % tokens.Length], batch: true, localAddress: sources[i % sources.Length]);
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException or IOException or HttpRequestException or InvalidOperationException)
            {
                if (Interlocked.Increment(ref failed) <= 5)
                {
                    Runner.Log($"client {i}: {ex.Message}");
                }
            }
        });
        var connectSeconds = watch.Elapsed.TotalSeconds;
        var connected = clients.Where(c => c is not null).Select(c => c!).ToArray();
        result["connectFailed"] = failed;
        result["connectPerSecond"] = connected.Length / connectSeconds;
        Runner.Log($"connected and authenticated {connected.Length:N0} of {n:N0} in {connectSeconds:F1} s ({connected.Length / connectSeconds:F0}/s); {failed} failed");

        if (!floor)
        {
            watch.Restart();
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            {
                if (clients[i] is { } c)
                {
                    if (i < big)
                    {
                        await c.SubscribeAsync(BigGuild);
                    }

                    await c.SubscribeAsync(GuildId(i % guilds));
                }
            });
            Runner.Log($"subscribed in {watch.Elapsed.TotalSeconds:F1} s");
        }

        var mem = await server.SendAsync("mem");
        result["rssPerConnection"] = (Rss(mem) - Rss(mem0)) / (double)connected.Length;
        result["heapPerConnection"] = (Heap(mem) - Heap(mem0)) / (double)connected.Length;
        result["threads"] = mem.GetProperty("threads").GetInt32();
        Runner.Log($"RSS/conn {result["rssPerConnection"]:F0} B, managed heap/conn {result["heapPerConnection"]:F0} B");

        if (!floor)
        {
            // One event at a time into the big guild: the time from the Broadcast() call to the last member's receipt.
            var histogram = new LatencyHistogram();
            var members = connected.Take(big).ToArray();
            foreach (var c in connected)
            {
                _ = c.StartReading(histogram);
            }

            // One event first, not counted: the server's hot path is still at its first JIT tier and the runtime
            // compiles its optimized code in the background, on the same two cores; the counted events measure the
            // steady state (the warm-up's own time is logged).
            {
                var before = members.Select(m => m.Received).ToArray();
                var reply = await server.SendAsync(Runner.Bcast([BigGuild], 1, 0, 64));
                var sent = reply.GetProperty("first").GetInt64();
                await WaitForAllAsync(members, before);

                var reached = members.Where((m, k) => m.Received > before[k]).ToArray();
                var last = reached.Length == 0 ? sent : reached.Max(m => m.LastReceipt);
                Runner.Log($"warm-up event (not counted): {reached.Length:N0} of {members.Length:N0} members in {(last - sent) * 1000.0 / Stopwatch.Frequency:F1} ms");
                await Task.Delay(1500);
            }

            var times = new List<double>();
            var serverCpu = new List<double>();
            var serverDone = new List<double>();
            var generatorCpu = new List<double>();
            var serverItems = new List<double>();
            var generatorItems = new List<double>();
            var serverSwitches = new List<double>();
            var generatorSwitches = new List<double>();
            for (var b = 0; b < broadcasts; b++)
            {
                var before = members.Select(m => m.Received).ToArray();

                // CPU accounting around the one event (evidence for where its time goes): each process's CPU time and
                // context switches (/proc), and the thread-pool work items each ran.
                var serverItems0 = (await server.SendAsync("alloc")).GetProperty("workItems").GetInt64();
                var generatorItems0 = ThreadPool.CompletedWorkItemCount;
                var serverCpu0 = ProcessCpu.Read(server.Pid);
                var generatorCpu0 = ProcessCpu.Read(Environment.ProcessId);
                var reply = await server.SendAsync(Runner.Bcast([BigGuild], 1, 0, 64));
                var sent = reply.GetProperty("first").GetInt64();
                await WaitForAllAsync(members, before);

                var lastWrite = (await server.SendAsync("lastwrite")).GetProperty("lastWrite").GetInt64();
                var serverUsed = ProcessCpu.Read(server.Pid) - serverCpu0;
                var generatorUsed = ProcessCpu.Read(Environment.ProcessId) - generatorCpu0;
                var generatorItemsUsed = ThreadPool.CompletedWorkItemCount - generatorItems0;
                var serverItemsUsed = (await server.SendAsync("alloc")).GetProperty("workItems").GetInt64() - serverItems0 - 1; // minus the command's own
                var reached = members.Where((m, k) => m.Received > before[k]).ToArray();
                var last = reached.Length == 0 ? sent : reached.Max(m => m.LastReceipt);
                times.Add((last - sent) * 1000.0 / Stopwatch.Frequency);
                serverCpu.Add(serverUsed.CpuNs / 1e6);
                serverDone.Add(lastWrite > sent ? (lastWrite - sent) * 1000.0 / Stopwatch.Frequency : double.NaN);
                generatorCpu.Add(generatorUsed.CpuNs / 1e6);
                serverItems.Add(serverItemsUsed);
                generatorItems.Add(generatorItemsUsed);
                serverSwitches.Add(serverUsed.Voluntary + serverUsed.Involuntary);
                generatorSwitches.Add(generatorUsed.Voluntary + generatorUsed.Involuntary);
                Runner.Log($"event {b + 1}: {reached.Length:N0} of {members.Length:N0} members in {times[^1]:F1} ms (the server's last frame handed to the transport at {serverDone[^1]:F1} ms); CPU server {serverCpu[^1]:F1} ms ({serverItemsUsed:N0} work items, {serverUsed.Voluntary:N0}+{serverUsed.Involuntary:N0} switches), generator {generatorCpu[^1]:F1} ms ({generatorItemsUsed:N0} work items, {generatorUsed.Voluntary:N0}+{generatorUsed.Involuntary:N0} switches)");
                await Task.Delay(500);
            }

            times.Sort();
            result["bigGuildMembers"] = members.Length;
            result["bigGuildAllReachedMs"] = new JsonArray(times.Select(t => (JsonNode)Math.Round(t, 1)).ToArray());
            result["bigGuildAllReachedMedianMs"] = times[times.Count / 2];
            result["perEventMedians"] = new JsonObject
            {
                ["serverLastWriteMs"] = Median(serverDone),
                ["serverCpuMs"] = Median(serverCpu),
                ["generatorCpuMs"] = Median(generatorCpu),
                ["serverWorkItems"] = Median(serverItems),
                ["generatorWorkItems"] = Median(generatorItems),
                ["serverContextSwitches"] = Median(serverSwitches),
                ["generatorContextSwitches"] = Median(generatorSwitches),
            };
        }

        var stats = await server.SendAsync("stats");
        result["clientsLost"] = failed + connected.Count(c => c.Ended);
        result["serverConnectionsAtEnd"] = stats.GetProperty("connections").GetInt32();
        foreach (var c in connected)
        {
            c.Abort();
        }

        return result;
    }

    /// <summary>
    /// Waits (at most 30 s) until every member received more than <paramref name="before"/> (or ended). The scan resumes
    /// where the last one stopped, so a poll costs the generator a few reads rather than a pass over 10,000 members
    /// (measured: the old full scans every 5 ms were ~6 % of the generator's CPU while the event was being received).
    /// </summary>
    private static async Task WaitForAllAsync(LoadClient[] members, long[] before)
    {
        var deadline = Stopwatch.GetTimestamp() + (30 * Stopwatch.Frequency);
        var next = 0;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            while (next < members.Length && (members[next].Received > before[next] || members[next].Ended))
            {
                next++;
            }

            if (next == members.Length)
            {
                return;
            }

            await Task.Delay(5);
        }
    }

    private static double Median(List<double> values)
    {
        values.Sort();
        return Math.Round(values[values.Count / 2], 2);
    }

    private static string GuildId(int k) => $"71{k:D16}";

    private static long Rss(JsonElement mem) => mem.GetProperty("rss").GetInt64();

    private static long Heap(JsonElement mem) => mem.GetProperty("gcHeap").GetInt64();

    /// <summary>The table: per count and target, side by side so growth is visible, with our share against the floor of the same transport and count.</summary>
    internal static string Markdown(JsonObject results)
    {
        var inv = CultureInfo.InvariantCulture;
        var runs = ((JsonArray)results["runs"]!).Select(r => r!.AsObject()).ToList();
        var sb = new StringBuilder();
        var machine = results["machine"]!;
        sb.Append("# Capacity run, ").Append(results["date"]).AppendLine().AppendLine();
        sb.Append("Machine: ").Append(machine["cpu"]).Append(", ").Append(machine["cores"]).Append(" cores, ").Append(machine["memoryGiB"]).Append(" GiB, ").Append(machine["runtime"])
            .Append(". Clients from ").Append(results["settings"]!["addresses"]).Append(" loopback addresses; big guild ").Append(results["settings"]!["bigGuild"]).Append(" members, ")
            .Append(results["settings"]!["guilds"]).AppendLine(" other guilds; `batch` clients.").AppendLine();
        sb.AppendLine("Limits raised (connection count is what this scenario measures): `MaxConnections` and `MaxConnectionsPerAddress` to N where N is above their defaults (10,000 and 100).").AppendLine();
        sb.AppendLine("| target | clients | connect + auth (/s) | RSS / connection (B) | managed heap / connection (B) | our share: heap minus the transport's floor (B; ours also holds two subscriptions a client) | one event to every big-guild member, median (ms) | clients lost |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in runs)
        {
            if (r["error"] is { } error)
            {
                sb.Append("| ").Append(r["target"]).Append(" | ").Append(r["clients"]).Append(" | FAILED: ").Append(error.GetValue<string>()).AppendLine(" | | | | | |");
                continue;
            }

            var target = r["target"]!.GetValue<string>();
            var n = r["clients"]!.GetValue<int>();
            var floorName = target.StartsWith("liveupdates-aspnetcore", StringComparison.Ordinal) ? "kestrel-floor" : target.StartsWith("liveupdates", StringComparison.Ordinal) ? "httplistener-floor" : null;
            var floor = runs.FirstOrDefault(x => x["target"]?.GetValue<string>() == floorName && x["clients"]?.GetValue<int>() == n && x["error"] is null);
            var own = floor is null ? "—" : (r["heapPerConnection"]!.GetValue<double>() - floor["heapPerConnection"]!.GetValue<double>()).ToString("N0", inv);
            var reach = r["bigGuildAllReachedMedianMs"] is { } ms ? $"{ms.GetValue<double>():F1} ({r["bigGuildMembers"]:N0} members)" : "—";
            sb.Append("| ").Append(target).Append(" | ").Append(n.ToString("N0", inv))
                .Append(" | ").Append(r["connectPerSecond"]!.GetValue<double>().ToString("N0", inv))
                .Append(" | ").Append(r["rssPerConnection"]!.GetValue<double>().ToString("N0", inv))
                .Append(" | ").Append(r["heapPerConnection"]!.GetValue<double>().ToString("N0", inv))
                .Append(" | ").Append(own)
                .Append(" | ").Append(reach)
                .Append(" | ").Append(r["clientsLost"]).AppendLine(" |");
        }

        return sb.ToString();
    }

    /// <summary>Raises this process's open-file limit (inherited by the server child) towards <paramref name="wanted"/>: the soft limit up to the hard one, and the hard one too where allowed (root).</summary>
    private static long RaiseFileLimit(long wanted)
    {
        const int RlimitNofile = 7;
        if (getrlimit(RlimitNofile, out var current) != 0)
        {
            return -1;
        }

        if ((long)current.Current >= wanted)
        {
            return (long)current.Current;
        }

        var raised = new RLimit { Current = (ulong)wanted, Maximum = Math.Max(current.Maximum, (ulong)wanted) };
        if (setrlimit(RlimitNofile, ref raised) == 0)
        {
            return wanted;
        }

        var soft = new RLimit { Current = current.Maximum, Maximum = current.Maximum };
        return setrlimit(RlimitNofile, ref soft) == 0 ? (long)current.Maximum : (long)current.Current;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrlimit(int resource, out RLimit limit);

    [DllImport("libc", SetLastError = true)]
    private static extern int setrlimit(int resource, ref RLimit limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
