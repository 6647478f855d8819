using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveUpdates.LoadTest.Clients;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.LoadTest;

/// <summary>
/// Runs every scenario against every target server in turn, in one process that is the client generator, with
/// each server in a child process; prints the table and writes the results as JSON and Markdown. Every wait is
/// capped, and a target that fails is recorded as failed and the run goes on, so the run always ends.
/// </summary>
internal sealed class Runner(RunSettings settings)
{
    internal const string Secret = "load-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // Guild layout: the first GuildMembers clients are in GuildBurst (the mass-action bursts and the paced run);
    // the first WideClients are each in one of ten wide guilds (i % 10) and all in GuildKb (the 1 KB events).
    private const string GuildBurst = "100000000000000001";
    private const string GuildKb = "100000000000000005";
    private const string Guild1 = "100000000000000003";   // cost scenario (opt-in): 1 subscriber
    private const string Guild100 = "100000000000000002"; // cost scenario (opt-in): 100 subscribers
    private const string GuildWarmUp = "100000000000000009";
    private const string GuildStall = "100000000000000008";
    private static readonly string[] s_wideGuilds = [.. Enumerable.Range(0, 10).Select(g => (300000000000000000L + g).ToString(Inv))];

    private readonly LatencyHistogram _histogram = new();

    public async Task<int> RunAsync()
    {
        var started = Stopwatch.StartNew();
        var results = new JsonObject
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv),
            ["machine"] = Machine(),
            ["settings"] = JsonSerializer.SerializeToNode(settings, JsonSerializerOptions.Web),
        };
        var targets = new JsonObject();
        results["targets"] = targets;
        var port = settings.PortBase;
        foreach (var target in settings.Targets)
        {
            Log($"=== {target}: {settings.Clients} clients ===");
            var targetStarted = Stopwatch.StartNew();
            JsonObject result;
            try
            {
                result = await RunTargetAsync(target, port++);
            }
            catch (Exception ex)
            {
                // Recorded, not fatal: the other targets still run and the table says what failed.
                Log($"{target} FAILED: {ex.GetType().Name}: {ex.Message}");
                result = new JsonObject { ["error"] = $"{ex.GetType().Name}: {ex.Message}" };
            }

            result["wallSeconds"] = targetStarted.Elapsed.TotalSeconds;
            targets[target] = result;
            await Task.Delay(TimeSpan.FromSeconds(2)); // let the kernel settle the closed sockets
        }

        results["wallSeconds"] = started.Elapsed.TotalSeconds;
        var (mdPath, jsonPath) = OutputPaths();
        Directory.CreateDirectory(Path.GetDirectoryName(jsonPath)!);
        await File.WriteAllTextAsync(jsonPath, results.ToJsonString(new JsonSerializerOptions { WriteIndented = true })); // first: the raw figures survive a report bug
        var markdown = Report.Markdown(results);
        Directory.CreateDirectory(Path.GetDirectoryName(mdPath)!);
        await File.WriteAllTextAsync(mdPath, markdown);
        Log($"results written to {mdPath} and {jsonPath}");
        Console.WriteLine(markdown);
        return 0;
    }

    private (string Markdown, string Json) OutputPaths()
    {
        var dir = settings.OutDirectory ?? Path.Combine(RepositoryRoot(), "tests", "LiveUpdates.Benchmarks", "results");
        var date = DateTime.UtcNow.ToString("yyyy-MM-dd", Inv);
        var md = Path.Combine(dir, date + ".md");
        if (File.Exists(md))
        {
            md = Path.Combine(dir, $"{date}-{DateTime.UtcNow:HHmm}.md"); // never overwrite an earlier run's write-up
        }

        return (md, settings.OutJson ?? Path.ChangeExtension(md, ".json"));
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    private bool Run(string scenario) => settings.Scenarios.Split(',').Contains(scenario);

    private async Task<JsonObject> RunTargetAsync(string target, int port)
    {
        var batch = target.EndsWith("-batch", StringComparison.Ordinal);
        var impl = batch ? target[..^"-batch".Length] : target; // liveupdates(-aspnetcore)-batch: the same server, batch clients
        var floor = impl.EndsWith("-floor", StringComparison.Ordinal); // httplistener-floor, kestrel-floor: idle only
        var protocol = impl == "signalr" ? ClientProtocol.SignalR : ClientProtocol.LiveUpdates;
        var uri = new Uri(impl == "signalr" ? $"ws://127.0.0.1:{port}{Servers.SignalRBenchServer.HubPath}" : $"ws://127.0.0.1:{port}/");
        var n = settings.Clients;
        var result = new JsonObject { ["batchClients"] = batch, ["protocol"] = protocol.ToString() };
        var (server, ready) = await ServerChild.StartAsync(impl, port, Secret, n + (Run("stall") ? 1 : 0));
        await using var _ = server;
        result["gc"] = ready.GetProperty("gc").GetString();
        result["nonDefaultSettings"] = ready.TryGetProperty("settings", out var s) ? JsonNode.Parse(s.GetRawText()) : new JsonArray();
        Log($"server pid {server.Pid}; settings that are not the server's defaults: {(ready.TryGetProperty("settings", out var t) ? t.GetRawText() : "[]")}");
        // 100 users; client i is user i % 100, whose token names the guilds it may join, no more (the claims are part of
        // a session's memory): its wide guild (i % 10, as 100 is a multiple of 10), the burst, 1 KB, warm-up and stall
        // guilds, and the opt-in cost scenario's two.
        var tokens = Enumerable.Range(0, 100).Select(k => Token($"9{k:D8}", [GuildBurst, GuildKb, s_wideGuilds[k % s_wideGuilds.Length], GuildWarmUp, GuildStall, .. Run("cost") ? new[] { Guild1, Guild100 } : []])).ToArray();
        var clients = new LoadClient?[n];
        using var pinger = new Pinger(clients, settings.PingSeconds);
        try
        {
            // Warm-up: JIT and tiering (of the server and of this generator, whose first target would otherwise be
            // measured on unoptimized code) and first-use allocations happen here, not in the measured figures.
            var warm = new LoadClient?[Math.Min(500, n)];
            await ConnectAsync(uri, warm, 0, warm.Length, tokens, batch, protocol);
            var warmReaders = new List<Task>();
            if (!floor)
            {
                foreach (var c in warm)
                {
                    await c!.SubscribeAsync(GuildWarmUp);
                }

                warmReaders.AddRange(warm.Select(c => c!.StartReading(_histogram)));
                await server.SendAsync(Bcast([GuildWarmUp], 200, 0, settings.PadBytes));
                await WaitForAsync(warm!, 200L * warm.Length, TimeSpan.FromSeconds(30));
                await Task.Delay(1000); // background tier-1 compilation
                await server.SendAsync(Bcast([GuildWarmUp], 200, 0, settings.PadBytes));
                await WaitForAsync(warm!, 400L * warm.Length, TimeSpan.FromSeconds(30));
            }

            foreach (var c in warm)
            {
                c!.Abort();
            }

            await Task.WhenAll(warmReaders).WaitAsync(TimeSpan.FromSeconds(30));
            await WaitUntilAsync(server, 0);
            await Task.Delay(1000);
            var mem0 = await server.SendAsync("mem");

            // Idle capacity: N clients connected and authenticated (pinging, subscribed to nothing), in two halves,
            // memory after each: the process's RSS and its managed heap, both after full collections.
            var half = n / 2;
            var sw = Stopwatch.StartNew();
            await ConnectAsync(uri, clients, 0, half, tokens, batch, protocol);
            var firstHalf = sw.Elapsed.TotalSeconds;
            var memHalf = await server.SendAsync("mem");
            sw.Restart();
            await ConnectAsync(uri, clients, half, n - half, tokens, batch, protocol);
            var secondHalf = sw.Elapsed.TotalSeconds;
            var memFull = await server.SendAsync("mem");
            if (settings.PauseAfterConnect > 0)
            {
                Log($"pausing {settings.PauseAfterConnect} s: server pid {server.Pid} (e.g. for dotnet-gcdump)");
                await Task.Delay(TimeSpan.FromSeconds(settings.PauseAfterConnect));
            }

            var all = clients.Select(c => c!).ToArray();
            result["connectPerSecond"] = n / (firstHalf + secondHalf);
            result["memory"] = new JsonObject
            {
                ["baselineRss"] = Rss(mem0),
                ["rssHalf"] = Rss(memHalf),
                ["rssFull"] = Rss(memFull),
                ["halfConnections"] = half,
                ["perConnectionAtHalf"] = (Rss(memHalf) - Rss(mem0)) / (double)half,
                ["perConnectionAtFull"] = (Rss(memFull) - Rss(mem0)) / (double)n,
                ["gcHeapPerConnectionAtFull"] = (Heap(memFull) - Heap(mem0)) / (double)n,
                ["threadsAtFull"] = memFull.GetProperty("threads").GetInt32(),
                ["connectionsAtFull"] = memFull.GetProperty("connections").GetInt32(),
                ["clientsCutWhileIdle"] = all.Count(c => c.Ended),
            };
            Log($"connect+auth {result["connectPerSecond"]:F0}/s; RSS/conn at {half}: {result["memory"]!["perConnectionAtHalf"]:F0} B, at {n}: {result["memory"]!["perConnectionAtFull"]:F0} B; managed heap/conn {result["memory"]!["gcHeapPerConnectionAtFull"]:F0} B");
            if (floor || !settings.Scenarios.Split(',').Any(x => x != "idle"))
            {
                return result;
            }

            var members = all.Take(Math.Min(settings.GuildMembers, n)).ToArray();
            var wide = all.Take(Math.Min(settings.WideClients, n)).ToArray();
            sw.Restart();
            var subscriptions = 0;
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = settings.ConnectConcurrency }, async (i, _) =>
            {
                foreach (var guild in GuildsOf(i))
                {
                    await all[i].SubscribeAsync(guild);
                    Interlocked.Increment(ref subscriptions);
                }
            });
            result["subscribePerSecond"] = subscriptions / sw.Elapsed.TotalSeconds;
            var memSubscribed = await server.SendAsync("mem");
            result["memory"]!["perConnectionSubscribed"] = (Rss(memSubscribed) - Rss(mem0)) / (double)n;
            Log($"{subscriptions} subscriptions; RSS/conn {result["memory"]!["perConnectionSubscribed"]:F0} B");

            var readers = all.Select(c => c.StartReading(_histogram)).ToArray();
            var scenarios = new JsonObject();
            result["scenarios"] = scenarios;

            // Broadcast() cost to the caller (opt-in): one pace for every audience, below every queue bound.
            foreach (var (guild, size) in Run("cost") ? new[] { (Guild1, 1), (Guild100, Math.Min(100, n)), (GuildBurst, members.Length), (GuildKb, wide.Length) } : [])
            {
                var count = Math.Max(settings.CostRate / 2, 100);
                scenarios[$"cost_{size}"] = await ScenarioAsync(server, all.Take(size).ToArray(), [guild], count, settings.CostRate, settings.PadBytes, $"Broadcast() cost, {size} subscriber(s), {settings.CostRate}/s");
            }

            // A mass action: bursts into one guild of 1,000.
            foreach (var burst in Run("burst") ? settings.Bursts : [])
            {
                scenarios[$"burst_{burst}"] = await MedianAsync(() => ScenarioAsync(server, members, [GuildBurst], burst, 0, settings.PadBytes, $"burst, {burst} events into {members.Length} subscribers"));
            }

            if (Run("paced"))
            {
                var count = (int)(settings.PacedRate * settings.PacedSeconds);
                scenarios["paced"] = await ScenarioAsync(server, members, [GuildBurst], count, settings.PacedRate, settings.PadBytes, $"paced, {members.Length} subscribers at {settings.PacedRate}/s");
            }

            if (Run("guilds10"))
            {
                scenarios["guilds10"] = await MedianAsync(() => ScenarioAsync(server, wide, s_wideGuilds, 10 * settings.EventsPerWideGuild, 0, settings.PadBytes, $"burst, {wide.Length} clients in 10 guilds, {settings.EventsPerWideGuild} events each"));
            }

            if (Run("kb1"))
            {
                scenarios["kb1"] = await MedianAsync(() => ScenarioAsync(server, wide, [GuildKb], settings.KbEvents, 0, settings.KbPadBytes, $"burst, {settings.KbEvents} events of ~1 KB into {wide.Length} subscribers"));
            }

            // Two instances through Redis: a placeholder for the Redis broker (being built elsewhere). When it lands,
            // this scenario starts two LiveUpdates server processes sharing one Redis, connects half the clients to
            // each, broadcasts on one and counts deliveries on both (lost deliveries as everywhere else).
            if (Run("redis"))
            {
                scenarios["redis_two_instances"] = new JsonObject { ["title"] = "two instances through Redis", ["skipped"] = "not implemented yet: needs the Redis broker" };
                Log("two instances through Redis: skipped (the Redis broker is not in this tree yet)");
            }

            if (Run("stall") && impl != "signalr")
            {
                await StallAsync(server, uri, port, tokens, batch, members, scenarios, result);
            }

            var stats = await server.SendAsync("stats");
            var memEnd = await server.SendAsync("mem");
            result["memory"]!["perConnectionAfterScenarios"] = (Rss(memEnd) - Rss(mem0)) / (double)n;
            result["serverCounters"] = JsonNode.Parse(stats.GetProperty("counters").GetRawText());
            result["clientsCut"] = CutByReason(all);
            Log($"RSS/conn after every scenario: {result["memory"]!["perConnectionAfterScenarios"]:F0} B; server counters: {stats.GetProperty("counters").GetRawText()}; clients cut: {result["clientsCut"]!.ToJsonString()}; connections {stats.GetProperty("connections").GetInt32()} of {n}");
            pinger.Dispose();
            foreach (var c in all)
            {
                c.Abort();
            }

            await Task.WhenAll(readers).WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            foreach (var c in clients)
            {
                c?.Abort();
            }
        }

        return result;
    }

    /// <summary>
    /// The older tool's stall scenario (opt-in): a client that never reads, in the burst guild, stalled for real
    /// first (events of its own guild fill the kernel's buffers until the server's socket send queue stops growing).
    /// </summary>
    private async Task StallAsync(ServerChild server, Uri uri, int port, string[] tokens, bool batch, LoadClient[] members, JsonObject scenarios, JsonObject result)
    {
        var stalled = await LoadClient.ConnectAsync(uri, tokens[0], batch, stalled: true);
        await stalled.SubscribeAsync(GuildBurst);
        await stalled.SubscribeAsync(GuildStall);
        long previous = -1, prefill = 0;
        for (var round = 0; round < 40; round++)
        {
            await server.SendAsync(Bcast([GuildStall], 50, 0, pad: 4096));
            prefill += 50;
            await Task.Delay(200);
            var queued = ServerSendQueueBytes(port, stalled.LocalPort);
            if (queued > 0 && queued == previous)
            {
                break;
            }

            previous = queued;
        }

        result["stalledClient"] = new JsonObject { ["prefillEvents"] = prefill, ["kernelSendQueueBytes"] = previous };
        Log($"stalled client: {prefill} events of 4 KiB sent to it alone; the server's socket send queue to it holds {previous} bytes and no longer grows");
        scenarios["burst_stalled"] = await MedianAsync(() => ScenarioAsync(server, members, [GuildBurst], settings.Bursts[0], 0, settings.PadBytes, $"burst, {members.Length} subscribers + 1 stalled"));
        scenarios["paced_stalled"] = await ScenarioAsync(server, members, [GuildBurst], (int)(settings.PacedRate * settings.PacedSeconds), settings.PacedRate, settings.PadBytes, $"paced, {members.Length} subscribers + 1 stalled at {settings.PacedRate}/s");
        stalled.Abort();
    }

    private async Task<JsonObject> ScenarioAsync(ServerChild server, LoadClient[] members, string[] guilds, int count, double rate, int pad, string title)
    {
        // Late deliveries of an earlier scenario that hit its cap must not count here: wait until nothing arrives for 1 s
        // (at most 20 s; whatever still comes later was lost to that scenario anyway).
        var late = await QuiesceAsync(members);
        _histogram.Reset();
        var before = members.Select(m => m.Received).ToArray();
        var endedBefore = members.Select(m => m.Ended).ToArray();
        var statsBefore = await server.SendAsync("stats");
        var allocBefore = await server.SendAsync("alloc");
        var generatorCpuBefore = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
        var generatorGcBefore = (Gen0: GC.CollectionCount(0), Gen2: GC.CollectionCount(2), Pause: GC.GetTotalPauseDuration());
        var timeout = TimeSpan.FromSeconds(settings.ScenarioTimeoutSeconds);
        var cap = settings.BroadcastCapSeconds + (rate > 0 ? count / rate : 0);
        var call = await server.SendAsync(Bcast(guilds, count, rate, pad, cap), TimeSpan.FromSeconds(cap + 60));

        // Expected: what was broadcast (all of it unless the broadcaster hit its cap), round-robin over the guilds,
        // each of which the members are spread over evenly (one guild: all of them; ten guilds: a tenth each).
        var sent = call.GetProperty("count").GetInt32();
        long expected = 0;
        for (var i = 0; i < members.Length; i++)
        {
            var g = i % guilds.Length; // member i is in guilds[i % guilds.Length] (GuildsOf)
            expected += (sent / guilds.Length) + (g < sent % guilds.Length ? 1 : 0);
        }

        var (received, lastReceipt) = await WaitForAsync(members, expected, timeout, before);
        var generatorCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds - generatorCpuBefore;
        var allocAfter = await server.SendAsync("alloc");
        var statsAfter = await server.SendAsync("stats");
        var serverCpu = allocAfter.GetProperty("cpuMs").GetDouble() - allocBefore.GetProperty("cpuMs").GetDouble();
        var first = call.GetProperty("first").GetInt64();
        var seconds = (lastReceipt - first) / (double)Stopwatch.Frequency;
        var allocated = allocAfter.GetProperty("allocated").GetInt64() - allocBefore.GetProperty("allocated").GetInt64();
        var cut = members.Where((m, i) => m.Ended && !endedBefore[i]).ToArray();
        var lost = expected - received;
        var lossy = lost > 0 || cut.Length > 0;
        var result = new JsonObject
        {
            ["title"] = title,
            ["events"] = count,
            ["eventsBroadcast"] = sent,
            ["broadcastCapped"] = sent < count,
            ["rate"] = rate,
            ["members"] = members.Length,
            ["deliveriesExpected"] = expected,
            ["deliveriesReceived"] = received,
            ["lostDeliveries"] = Math.Max(0, lost),
            ["clientsCut"] = CutByReason(cut),
            ["clientsAlreadyCut"] = endedBefore.Count(e => e),
            ["lateDeliveriesOfEarlierScenarios"] = late,
            ["lossy"] = lossy,
            ["seconds"] = seconds,
            ["deliveriesPerSecond"] = seconds > 0 ? received / seconds : 0,
            ["latencyUs"] = _histogram.Count == 0 ? null : new JsonObject // (no sample: no latency; NaN is not JSON)
            {
                ["p50"] = _histogram.Quantile(0.50),
                ["p90"] = _histogram.Quantile(0.90),
                ["p99"] = _histogram.Quantile(0.99),
                ["max"] = _histogram.Quantile(1),
            },
            ["callUs"] = new JsonObject
            {
                ["mean"] = call.GetProperty("callMeanUs").GetDouble(),
                ["p50"] = call.GetProperty("callP50Us").GetDouble(),
                ["p99"] = call.GetProperty("callP99Us").GetDouble(),
                ["max"] = call.GetProperty("callMaxUs").GetDouble(),
                ["cpuP50"] = call.GetProperty("callCpuP50Us").GetDouble(),
                ["cpuP99"] = call.GetProperty("callCpuP99Us").GetDouble(),
            },
            ["callerAllocPerCall"] = call.GetProperty("callerAllocPerCall").GetDouble(),
            ["serverAllocPerDelivery"] = received > 0 ? allocated / (double)received : 0,
            ["serverCpuUsPerDelivery"] = received > 0 ? serverCpu * 1000 / received : 0,
            ["generatorCpuUsPerDelivery"] = received > 0 ? generatorCpu * 1000 / received : 0,
            ["serverCountersDelta"] = CountersDelta(statsBefore, statsAfter),
            // Where a tail can come from (docs/benchmarks.md, paced p99): collections and their total pause in each process,
            // the server's thread-pool threads and work items run (hand-offs), during this scenario.
            ["tail"] = new JsonObject
            {
                ["serverGen0"] = Delta(allocBefore, allocAfter, "gen0"),
                ["serverGen1"] = Delta(allocBefore, allocAfter, "gen1"),
                ["serverGen2"] = Delta(allocBefore, allocAfter, "gen2"),
                ["serverGcPauseMs"] = Delta(allocBefore, allocAfter, "gcPauseMs"),
                ["serverWorkItems"] = Delta(allocBefore, allocAfter, "workItems"),
                ["serverThreadPoolThreads"] = allocAfter.TryGetProperty("threads", out var th) ? th.GetDouble() : null,
                ["generatorGen0"] = GC.CollectionCount(0) - generatorGcBefore.Gen0,
                ["generatorGen2"] = GC.CollectionCount(2) - generatorGcBefore.Gen2,
                ["generatorGcPauseMs"] = (GC.GetTotalPauseDuration() - generatorGcBefore.Pause).TotalMilliseconds,
            },
        };
        Log($"{title}: tail evidence {result["tail"]!.ToJsonString()}");
        Log($"{title}: {received}/{expected} in {seconds:F3} s = {(seconds > 0 ? received / seconds : 0):F0}/s; latency p50 {_histogram.Quantile(0.5) / 1000:F2} ms p99 {_histogram.Quantile(0.99) / 1000:F2} ms max {_histogram.Quantile(1) / 1000:F2} ms; call p50 {call.GetProperty("callP50Us").GetDouble():F2} µs; CPU per delivery: server {serverCpu * 1000 / Math.Max(1, received):F2} µs, generator {generatorCpu * 1000 / Math.Max(1, received):F2} µs");
        if (sent < count)
        {
            Log($"  CAPPED: the server's broadcasting stopped after {settings.BroadcastCapSeconds} s, at {sent} of {count} events");
        }

        if (lossy)
        {
            Log($"  LOSSY: {lost} deliveries lost; clients cut: {result["clientsCut"]!.ToJsonString()}; server counters: {result["serverCountersDelta"]!.ToJsonString()}");
        }

        return result;
    }

    internal static JsonObject CutByReason(IEnumerable<LoadClient> clients)
    {
        var cut = new JsonObject();
        foreach (var group in clients.Where(c => c.Ended).GroupBy(c => c.EndReason).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            cut[group.Key] = group.Count();
        }

        return cut;
    }

    private static JsonObject CountersDelta(JsonElement before, JsonElement after)
    {
        var delta = new JsonObject();
        foreach (var counter in after.GetProperty("counters").EnumerateObject())
        {
            var was = before.GetProperty("counters").TryGetProperty(counter.Name, out var b) ? b.GetInt64() : 0;
            if (counter.Value.GetInt64() != was)
            {
                delta[counter.Name] = counter.Value.GetInt64() - was;
            }
        }

        return delta;
    }

    /// <summary>
    /// Runs a scenario <see cref="RunSettings.Repeats"/> times and keeps the run with the median deliveries per second.
    /// A lossy run is never averaged in: if any run lost deliveries, the scenario is that (worst) run, marked lossy.
    /// </summary>
    private async Task<JsonObject> MedianAsync(Func<Task<JsonObject>> scenario)
    {
        var runs = new List<JsonObject>();
        for (var i = 0; i < Math.Max(1, settings.Repeats); i++)
        {
            runs.Add(await scenario());
        }

        var lossy = runs.Where(r => r["lossy"]!.GetValue<bool>()).OrderByDescending(r => r["lostDeliveries"]!.GetValue<long>()).FirstOrDefault();
        var ordered = runs.OrderBy(r => r["deliveriesPerSecond"]!.GetValue<double>()).ToList();
        var chosen = lossy ?? ordered[ordered.Count / 2];
        chosen["runsDeliveriesPerSecond"] = new JsonArray([.. runs.Select(r => (JsonNode)r["deliveriesPerSecond"]!.GetValue<double>())]);
        chosen["lossyRuns"] = runs.Count(r => r["lossy"]!.GetValue<bool>());
        return chosen;
    }

    internal static async Task<(long Received, long LastReceipt)> WaitForAsync(LoadClient[] members, long expected, TimeSpan timeout, long[]? before = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        long received = 0, last = 0, lastProgress = Stopwatch.GetTimestamp();
        while (true)
        {
            long sum = 0;
            for (var i = 0; i < members.Length; i++)
            {
                sum += members[i].Received - (before?[i] ?? 0);
            }

            if (sum != received)
            {
                received = sum;
                lastProgress = Stopwatch.GetTimestamp();
            }

            var now = Stopwatch.GetTimestamp();
            var stuck = now - lastProgress > 10 * Stopwatch.Frequency; // nothing for 10 s: give up
            if (received >= expected || now > deadline || stuck)
            {
                foreach (var m in members)
                {
                    last = Math.Max(last, m.LastReceipt);
                }

                return (received, last);
            }

            await Task.Delay(2);
        }
    }

    internal static async Task<long> QuiesceAsync(LoadClient[] members)
    {
        long Sum() => members.Sum(m => m.Received);
        var start = Sum();
        var last = start;
        var quietSince = Stopwatch.GetTimestamp();
        var deadline = quietSince + (20 * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline && Stopwatch.GetTimestamp() - quietSince < Stopwatch.Frequency)
        {
            await Task.Delay(100);
            var now = Sum();
            if (now != last)
            {
                last = now;
                quietSince = Stopwatch.GetTimestamp();
            }
        }

        return last - start;
    }

    private static async Task WaitUntilAsync(ServerChild server, int connections)
    {
        for (var i = 0; i < 200; i++)
        {
            var stats = await server.SendAsync("stats");
            if (stats.GetProperty("connections").GetInt32() <= connections)
            {
                return;
            }

            await Task.Delay(50);
        }
    }

    private async Task ConnectAsync(Uri uri, LoadClient?[] into, int from, int count, string[] tokens, bool batch, ClientProtocol protocol)
    {
        await Parallel.ForEachAsync(Enumerable.Range(from, count), new ParallelOptions { MaxDegreeOfParallelism = settings.ConnectConcurrency }, async (index, ct) =>
        {
            // A refusal (503/429) while the warm-up's connections are still being torn down is retried, twice at most.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    into[index] = await LoadClient.ConnectAsync(uri, tokens[index % tokens.Length], batch, protocol: protocol);
                    return;
                }
                catch (System.Net.WebSockets.WebSocketException ex) when (attempt < 3)
                {
                    Log($"client {index}: {ex.Message}; retrying in 1 s");
                    await Task.Delay(1000, ct);
                }
            }
        });
    }

    // At most three guilds a client (five with the opt-in cost scenario), within the default subscription-change rate.
    private IEnumerable<string> GuildsOf(int i)
    {
        if (i < settings.GuildMembers)
        {
            yield return GuildBurst;
        }

        if (i < settings.WideClients)
        {
            yield return s_wideGuilds[i % s_wideGuilds.Length];
            yield return GuildKb;
        }

        if (Run("cost") && i < 100)
        {
            yield return Guild100;
        }

        if (Run("cost") && i < 1)
        {
            yield return Guild1;
        }
    }

    internal static string Bcast(string[] guilds, int count, double rate, int pad, double maxSeconds = 0, double offsetSeconds = 0) =>
        "bcast " + JsonSerializer.Serialize(new Servers.ServerProcess.BroadcastCommand(guilds, count, rate, pad, maxSeconds, offsetSeconds), JsonSerializerOptions.Web);

    /// <summary>Bytes waiting in the server's socket send queue towards a client port (tx_queue in /proc/net/tcp), or -1.</summary>
    private static long ServerSendQueueBytes(int serverPort, int clientPort)
    {
        var local = $":{serverPort:X4}";
        var remote = $":{clientPort:X4}";
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f[1].EndsWith(local, StringComparison.Ordinal) && f[2].EndsWith(remote, StringComparison.Ordinal))
            {
                return long.Parse(f[4].Split(':')[0], NumberStyles.HexNumber, Inv);
            }
        }

        return -1;
    }

    /// <summary>after − before of a numeric field of the server's <c>alloc</c> reply, or null when the server does not report it (node-ws).</summary>
    private static double? Delta(JsonElement before, JsonElement after, string field) =>
        before.TryGetProperty(field, out var b) && after.TryGetProperty(field, out var a) && b.ValueKind == JsonValueKind.Number ? a.GetDouble() - b.GetDouble() : null;

    private static long Rss(JsonElement mem) => mem.GetProperty("rss").GetInt64();

    private static long Heap(JsonElement mem) => mem.GetProperty("gcHeap").GetInt64();

    internal static string Token(string userId, string[] guilds)
    {
        var handler = new JsonWebTokenHandler();
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = userId, ["guilds"] = guilds },
            Expires = DateTime.UtcNow.AddHours(4),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
            TokenType = "liveupdates+jwt", // a connection token (docs/security.md); other servers ignore typ and aud
            Audience = "liveupdates",
        });
    }

    internal static JsonObject Machine()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim();
        var memKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        return new JsonObject
        {
            ["cpu"] = cpu,
            ["cores"] = Environment.ProcessorCount,
            ["memoryGiB"] = Math.Round(long.Parse(memKb, Inv) / 1024.0 / 1024.0, 1),
            ["os"] = System.Runtime.InteropServices.RuntimeInformation.OSDescription,
            ["runtime"] = System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription,
            ["generatorGc"] = Servers.ServerProcess.GcMode(),
        };
    }

    internal static void Log(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
