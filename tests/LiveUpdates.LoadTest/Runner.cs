using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveUpdates.LoadTest.Clients;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.LoadTest;

/// <summary>Settings of one load run (command line of <c>run</c>).</summary>
internal sealed record RunSettings(
    int Clients,
    string[] Targets,
    int PortBase,
    string? OutJson,
    int BurstOneGuildSmall,
    int BurstOneGuildLarge,
    int EventsPerSmallGuild,
    double LatencyRate,
    int LatencySeconds,
    int PadBytes,
    int ConnectConcurrency,
    int PauseAfterConnect = 0,
    bool ConnectOnly = false,
    string Scenarios = "cost,fanout,latency,stall",
    int Repeats = 3,
    int CostRate = 0);

/// <summary>
/// Runs every scenario against every target server in turn, in one process that is the client generator, with
/// each server in a child process; prints the table and writes the results as JSON.
/// </summary>
internal sealed class Runner(RunSettings settings)
{
    private const string Secret = "load-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // Guild layout: every client is in GuildAll; the first 1,000 / 100 / 1 also in Guild1k / Guild100 / Guild1;
    // and each is one of ten members of a small guild.
    private const string GuildAll = "100000000000000000";
    private const string Guild1k = "100000000000000001";
    private const string Guild100 = "100000000000000002";
    private const string Guild1 = "100000000000000003";
    private const string GuildWarmUp = "100000000000000009";
    private const string GuildStall = "100000000000000008";

    private readonly LatencyHistogram _histogram = new();

    public async Task<int> RunAsync()
    {
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
            targets[target] = await RunTargetAsync(target, port++);
            await Task.Delay(TimeSpan.FromSeconds(2)); // let the kernel settle the closed sockets
        }

        var json = results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (settings.OutJson is not null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(settings.OutJson))!);
            await File.WriteAllTextAsync(settings.OutJson, json);
            Log($"results written to {settings.OutJson}");
        }

        Console.WriteLine(Report.Markdown(results));
        return 0;
    }

    private async Task<JsonObject> RunTargetAsync(string target, int port)
    {
        var impl = target.StartsWith("liveupdates", StringComparison.Ordinal) ? "liveupdates" : target;
        var batch = target.EndsWith("-batch", StringComparison.Ordinal);
        var result = new JsonObject { ["batchClients"] = batch };
        var (server, ready) = await ServerChild.StartAsync(impl, port, Secret);
        await using var _ = server;
        result["gc"] = ready.GetProperty("gc").GetString();
        Log($"server pid {server.Pid}");
        bool Run(string scenario) => settings.Scenarios.Split(',').Contains(scenario);
        var uri = new Uri($"ws://127.0.0.1:{port}/");
        var n = settings.Clients;
        var smallGuilds = Math.Max(1, n / 10);
        var tokens = Enumerable.Range(0, smallGuilds).Select(g => Token($"9{g:D8}", [GuildAll, Guild1k, Guild100, Guild1, SmallGuild(g), GuildWarmUp, GuildStall])).ToArray();
        var clients = new LoadClient[n];
        try
        {
            // Warm-up: JIT and tiering (of the server and of this generator, whose first target would otherwise be
            // measured on unoptimized code) and first-use allocations happen here, not in the measured figures.
            var warm = await ConnectAsync(uri, 0, Math.Min(500, n), tokens, batch);
            foreach (var c in warm)
            {
                await c.SubscribeAsync(GuildWarmUp);
            }

            var warmReaders = warm.Select(c => c.StartReading(_histogram)).ToArray();
            await server.SendAsync(Bcast([GuildWarmUp], 200, 0));
            await WaitForAsync(warm, 200L * warm.Length, TimeSpan.FromSeconds(30));
            await Task.Delay(1000); // background tier-1 compilation
            await server.SendAsync(Bcast([GuildWarmUp], 200, 0));
            await WaitForAsync(warm, 400L * warm.Length, TimeSpan.FromSeconds(30));
            foreach (var c in warm)
            {
                c.Abort();
            }

            await Task.WhenAll(warmReaders);
            await WaitUntilAsync(server, 0);
            await Task.Delay(1000);
            var mem0 = await server.SendAsync("mem");

            // Capacity: connect and authenticate in two halves, measuring memory after each.
            var half = n / 2;
            var sw = Stopwatch.StartNew();
            (await ConnectAsync(uri, 0, half, tokens, batch)).CopyTo(clients, 0);
            var firstHalf = sw.Elapsed.TotalSeconds;
            var memHalf = await server.SendAsync("mem");
            sw.Restart();
            (await ConnectAsync(uri, half, n - half, tokens, batch)).CopyTo(clients, half);
            var secondHalf = sw.Elapsed.TotalSeconds;
            var memFull = await server.SendAsync("mem");
            if (settings.PauseAfterConnect > 0)
            {
                Log($"pausing {settings.PauseAfterConnect} s: server pid {server.Pid} (e.g. for dotnet-gcdump)");
                await Task.Delay(TimeSpan.FromSeconds(settings.PauseAfterConnect));
            }
            result["connectPerSecond"] = n / (firstHalf + secondHalf);
            result["memory"] = new JsonObject
            {
                ["baselineRss"] = Rss(mem0),
                ["rssHalf"] = Rss(memHalf),
                ["rssFull"] = Rss(memFull),
                ["halfConnections"] = half,
                ["perConnectionAtHalf"] = (Rss(memHalf) - Rss(mem0)) / (double)half,
                ["perConnectionAtFull"] = (Rss(memFull) - Rss(mem0)) / (double)n,
                ["gcHeapPerConnectionAtFull"] = (memFull.GetProperty("gcHeap").GetInt64() - mem0.GetProperty("gcHeap").GetInt64()) / (double)n,
                ["threadsAtFull"] = memFull.GetProperty("threads").GetInt32(),
            };
            Log($"connect+auth {result["connectPerSecond"]:F0}/s; RSS/conn at {half}: {result["memory"]!["perConnectionAtHalf"]:F0} B, at {n}: {result["memory"]!["perConnectionAtFull"]:F0} B");

            if (settings.ConnectOnly)
            {
                return result;
            }

            sw.Restart();
            await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = settings.ConnectConcurrency }, async (i, _) =>
            {
                foreach (var guild in GuildsOf(i))
                {
                    await clients[i].SubscribeAsync(guild);
                }
            });
            result["subscribePerSecond"] = GuildsOfAll(n) / sw.Elapsed.TotalSeconds;
            var memSubscribed = await server.SendAsync("mem");
            result["memory"]!["perConnectionSubscribed"] = (Rss(memSubscribed) - Rss(mem0)) / (double)n;
            Log($"subscribed; RSS/conn {result["memory"]!["perConnectionSubscribed"]:F0} B");

            var readers = clients.Select(c => c.StartReading(_histogram)).ToArray();
            var scenarios = new JsonObject();
            result["scenarios"] = scenarios;
            var members1k = clients.Take(Math.Min(1000, n)).ToArray();

            // Broadcast() cost to the caller: the same pace for every audience (1,000 calls/s, 500 calls: below every
            // queue bound, so nothing is dropped or cut off), so only the number of subscribers changes. A slower pace
            // costs more per call whatever the audience (a call after a long sleep runs on cold caches): --cost-rate.
            foreach (var (guild, size) in Run("cost") ? new[] { (Guild1, 1), (Guild100, Math.Min(100, n)), (Guild1k, Math.Min(1000, n)), (GuildAll, n) } : [])
            {
                var rate = settings.CostRate > 0 ? settings.CostRate : 1000;
                var count = Math.Max(rate / 2, 100);
                scenarios[$"cost_{size}"] = await ScenarioAsync(server, clients.Take(size).ToArray(), [guild], count, rate, $"Broadcast() cost, {size} subscriber(s), {rate}/s");
            }

            // Bursts are short (a fraction of a second), so each is repeated and the median run is kept.
            if (Run("fanout"))
            {
                scenarios["fanout_1k"] = await MedianAsync(() => ScenarioAsync(server, members1k, [Guild1k], settings.BurstOneGuildSmall, 0, $"fan-out burst, {members1k.Length} subscribers"));
                scenarios["fanout_all"] = await MedianAsync(() => ScenarioAsync(server, clients, [GuildAll], settings.BurstOneGuildLarge, 0, $"fan-out burst, {n} subscribers"));
                scenarios["fanout_small_guilds"] = await MedianAsync(() => ScenarioAsync(
                    server, clients, [.. Enumerable.Range(0, smallGuilds).Select(SmallGuild)], smallGuilds * settings.EventsPerSmallGuild, 0, $"fan-out burst, {smallGuilds} guilds of 10"));
            }

            var latencyCount = (int)(settings.LatencyRate * settings.LatencySeconds);
            if (Run("latency"))
            {
                scenarios["latency_1k"] = await ScenarioAsync(server, members1k, [Guild1k], latencyCount, settings.LatencyRate, $"latency, {members1k.Length} subscribers at {settings.LatencyRate}/s");

                // The other audiences, paced within what the machine delivers one frame at a time (about 50k/s):
                // every client of the big guild at 5 events/s, and the small guilds at 2,000 events/s in turn.
                scenarios["latency_all"] = await ScenarioAsync(server, clients, [GuildAll], 5 * settings.LatencySeconds, 5, $"latency, {n} subscribers at 5/s");
                scenarios["latency_small_guilds"] = await ScenarioAsync(
                    server, clients, [.. Enumerable.Range(0, smallGuilds).Select(SmallGuild)], smallGuilds * Math.Max(1, 2000 * settings.LatencySeconds / smallGuilds / 2), 2000, $"latency, {smallGuilds} guilds of 10 at 2000 events/s");
            }

            if (!Run("stall"))
            {
                return result;
            }

            // A client that never reads, in the 1k guild: the others must not notice. It is stalled for real before
            // the scenario: events of its own guild fill the kernel's buffers (4 KiB receive buffer) until the
            // server's socket send queue stops growing, i.e. the server's send to it can no longer complete.
            var stalled = await LoadClient.ConnectAsync(uri, tokens[0], batch, stalled: true);
            await stalled.SubscribeAsync(Guild1k);
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
            scenarios["fanout_1k_stalled"] = await MedianAsync(() => ScenarioAsync(server, members1k, [Guild1k], settings.BurstOneGuildSmall, 0, $"fan-out burst, {members1k.Length} subscribers + 1 stalled"));
            scenarios["latency_1k_stalled"] = await ScenarioAsync(server, members1k, [Guild1k], latencyCount, settings.LatencyRate, $"latency, {members1k.Length} subscribers + 1 stalled at {settings.LatencyRate}/s");
            var stats = await server.SendAsync("stats");
            var memEnd = await server.SendAsync("mem");
            result["memory"]!["perConnectionAfterScenarios"] = (Rss(memEnd) - Rss(mem0)) / (double)(n + 1);
            Log($"RSS/conn after every scenario: {result["memory"]!["perConnectionAfterScenarios"]:F0} B");
            result["serverCounters"] = JsonNode.Parse(stats.GetProperty("counters").GetRawText());
            result["clientsClosedByServer"] = clients.Count(c => c.Ended);
            result["stalledClient"]!["stillConnectedAtEnd"] = stats.GetProperty("connections").GetInt32() == n + 1;
            Log($"server counters: {stats.GetProperty("counters").GetRawText()}; clients ended: {result["clientsClosedByServer"]}; connections {stats.GetProperty("connections").GetInt32()} (of {n} + 1 stalled)");
            stalled.Abort();
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

    private async Task<JsonObject> ScenarioAsync(ServerChild server, LoadClient[] members, string[] guilds, int count, double rate, string title)
    {
        var eventsPerMember = (long)count / guilds.Length; // round-robin: each guild gets count / guilds events
        var expected = members.Length == 0 ? 0 : eventsPerMember * members.Length;
        _histogram.Reset();
        var before = members.Select(m => m.Received).ToArray();
        if (Environment.GetEnvironmentVariable("LOADTEST_ALLOC_TYPES") == "1")
        {
            await server.SendAsync("alloctypes"); // reset
        }

        var allocBefore = await server.SendAsync("alloc");
        var generatorCpuBefore = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;
        var call = await server.SendAsync(Bcast(guilds, count, rate));
        var (received, lastReceipt) = await WaitForAsync(members, expected, TimeSpan.FromSeconds(120), before);
        var generatorCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds - generatorCpuBefore;
        var allocAfter = await server.SendAsync("alloc");
        var serverCpu = allocAfter.GetProperty("cpuMs").GetDouble() - allocBefore.GetProperty("cpuMs").GetDouble();
        if (Environment.GetEnvironmentVariable("LOADTEST_ALLOC_TYPES") == "1")
        {
            Log($"  allocations by type (sampled): {(await server.SendAsync("alloctypes")).GetRawText()}");
        }
        var first = call.GetProperty("first").GetInt64();
        var seconds = (lastReceipt - first) / (double)Stopwatch.Frequency;
        var allocated = allocAfter.GetProperty("allocated").GetInt64() - allocBefore.GetProperty("allocated").GetInt64();
        var result = new JsonObject
        {
            ["title"] = title,
            ["events"] = count,
            ["rate"] = rate,
            ["deliveriesExpected"] = expected,
            ["deliveriesReceived"] = received,
            ["seconds"] = seconds,
            ["deliveriesPerSecond"] = received / seconds,
            ["latencyUs"] = new JsonObject
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
            ["serverThreadPoolThreads"] = allocAfter.GetProperty("threads").GetInt32(),
            ["serverGcGen0"] = allocAfter.GetProperty("gen0").GetInt32() - allocBefore.GetProperty("gen0").GetInt32(),
            ["serverGcGen2"] = allocAfter.GetProperty("gen2").GetInt32() - allocBefore.GetProperty("gen2").GetInt32(),
        };
        Log($"{title}: {received}/{expected} in {seconds:F3} s = {received / seconds:F0}/s; latency p50 {_histogram.Quantile(0.5) / 1000:F2} ms p99 {_histogram.Quantile(0.99) / 1000:F2} ms max {_histogram.Quantile(1) / 1000:F2} ms; call p50 {call.GetProperty("callP50Us").GetDouble():F2} µs p99 {call.GetProperty("callP99Us").GetDouble():F2} µs (CPU p50 {call.GetProperty("callCpuP50Us").GetDouble():F2} µs); {allocated / (double)Math.Max(1, received):F1} B/delivery; CPU per delivery: server {serverCpu * 1000 / Math.Max(1, received):F2} µs, generator {generatorCpu * 1000 / Math.Max(1, received):F2} µs; server pool threads {allocAfter.GetProperty("threads").GetInt32()}, gen0 GCs {allocAfter.GetProperty("gen0").GetInt32() - allocBefore.GetProperty("gen0").GetInt32()}, gen2 {allocAfter.GetProperty("gen2").GetInt32() - allocBefore.GetProperty("gen2").GetInt32()}");
        if (received < expected)
        {
            result["incomplete"] = true;
            Log($"  INCOMPLETE: {expected - received} deliveries missing; {members.Count(m => m.Ended)} members closed");
        }

        await Task.Delay(500);
        return result;
    }

    /// <summary>Runs a scenario <see cref="RunSettings.Repeats"/> times and keeps the run with the median deliveries per second; the others are kept as "runs".</summary>
    private async Task<JsonObject> MedianAsync(Func<Task<JsonObject>> scenario)
    {
        var runs = new List<JsonObject>();
        for (var i = 0; i < Math.Max(1, settings.Repeats); i++)
        {
            runs.Add(await scenario());
        }

        var ordered = runs.OrderBy(r => r["deliveriesPerSecond"]!.GetValue<double>()).ToList();
        var median = ordered[ordered.Count / 2];
        median["runsDeliveriesPerSecond"] = new JsonArray([.. runs.Select(r => (JsonNode)r["deliveriesPerSecond"]!.GetValue<double>())]);
        return median;
    }

    private static async Task<(long Received, long LastReceipt)> WaitForAsync(LoadClient[] members, long expected, TimeSpan timeout, long[]? before = null)
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

    private async Task<LoadClient[]> ConnectAsync(Uri uri, int from, int count, string[] tokens, bool batch)
    {
        var clients = new LoadClient[count];
        await Parallel.ForEachAsync(Enumerable.Range(0, count), new ParallelOptions { MaxDegreeOfParallelism = settings.ConnectConcurrency }, async (i, _) =>
        {
            var index = from + i;
            clients[i] = await LoadClient.ConnectAsync(uri, tokens[index % tokens.Length], batch);
        });
        return clients;
    }

    // The token of client i names its small guild (i % smallGuilds), so the connect phase uses tokens[i % tokens.Length].
    private IEnumerable<string> GuildsOf(int i)
    {
        yield return GuildAll;
        if (i < 1000)
        {
            yield return Guild1k;
        }

        if (i < 100)
        {
            yield return Guild100;
        }

        if (i < 1)
        {
            yield return Guild1;
        }

        yield return SmallGuild(i % Math.Max(1, settings.Clients / 10));
    }

    private int GuildsOfAll(int n) => Enumerable.Range(0, n).Sum(i => GuildsOf(i).Count());

    private static string SmallGuild(int g) => (200000000000000000L + g).ToString(Inv);

    private string Bcast(string[] guilds, int count, double rate, int? pad = null) =>
        "bcast " + JsonSerializer.Serialize(new Servers.ServerProcess.BroadcastCommand(guilds, count, rate, pad ?? settings.PadBytes), JsonSerializerOptions.Web);

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

    private static long Rss(JsonElement mem) => mem.GetProperty("rss").GetInt64();

    private static string Token(string userId, string[] guilds)
    {
        var handler = new JsonWebTokenHandler();
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = userId, ["guilds"] = guilds },
            Expires = DateTime.UtcNow.AddHours(4),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
        });
    }

    private static JsonObject Machine()
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

    private static void Log(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");
}
