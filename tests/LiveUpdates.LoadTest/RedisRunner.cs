using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveUpdates.Brokers;
using LiveUpdates.LoadTest.Clients;
using LiveUpdates.Redis;

namespace LiveUpdates.LoadTest;

/// <summary>
/// The scale-out figures (`redis` subcommand): the same clients and events against one in-memory instance and against
/// two instances sharing a redis-server this tool starts (no persistence, loopback), each instance in its own process
/// at default settings with half the clients, events broadcast from both. Then the broker alone (publish throughput
/// through the Lua script, one awaited publish's round trip) and a reconnect storm: every client moves to the other
/// instance with its last position and recovers from Redis. Lost deliveries are reported beside every throughput.
/// </summary>
internal sealed class RedisRunner(int clients, int burst, int pacedRate, int pacedSeconds, int publishes, int repeats, string? outPath)
{
    private const string Guild = "100000000000000001";
    private const int WarmUpRounds = 2;
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly LatencyHistogram _histogram = new();

    public async Task<int> RunAsync()
    {
        var results = new JsonObject
        {
            ["date"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv),
            ["machine"] = Runner.Machine(),
            ["clients"] = clients,
            ["burst"] = burst,
            ["pacedRate"] = pacedRate,
            ["burstRepeats"] = repeats,
        };
        var redisPort = FreePort();
        using var redis = StartRedis(redisPort);
        try
        {
            await WaitForRedisAsync(redisPort);
            // LOADTEST_COLUMNS (a look inside, e.g. "oneInstanceRedis"): only these columns; the table needs all three.
            var names = Environment.GetEnvironmentVariable("LOADTEST_COLUMNS")?.Split(',') ?? ["inMemory", "oneInstanceRedis", "twoInstancesRedis"];
            var prefix = "load-" + Guid.NewGuid().ToString("N");
            var all = new (string Name, Func<Task<Column>> Start)[]
            {
                ("inMemory", () => StartColumnAsync(null, 1, 4100)),

                // The same single process with the Redis broker: what Redis itself adds, apart from what a second
                // server process on the same two cores costs (the two-instance column has both).
                ("oneInstanceRedis", () => StartColumnAsync($"127.0.0.1:{redisPort}|load-{Guid.NewGuid():N}", 1, 4300)),
                ("twoInstancesRedis", () => StartColumnAsync($"127.0.0.1:{redisPort}|{prefix}", 2, 4200)),
            };
            var columns = new List<Column>();
            try
            {
                foreach (var (name, start) in all.Where(c => names.Contains(c.Name)))
                {
                    var column = await start();
                    column.Name = name;
                    columns.Add(column);
                }

                await BurstsAsync(columns);
                foreach (var column in columns)
                {
                    results[column.Name] = await AfterBurstsAsync(column, redisPort, prefix);
                }
            }
            finally
            {
                foreach (var column in columns)
                {
                    await column.DisposeAsync();
                }
            }

            results["broker"] = await BrokerAloneAsync($"127.0.0.1:{redisPort}");
            var scripts = (await RespAsync(redisPort, "INFO", "commandstats")).Where(l => l.StartsWith("cmdstat_eval", StringComparison.Ordinal)).ToList();
            results["scriptCommands"] = string.Join("; ", scripts); // EVAL or EVALSHA: what StackExchange.Redis actually sends
            Runner.Log("script commands: " + results["scriptCommands"]);
        }
        finally
        {
            redis.Kill();
        }

        var json = results.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        if (outPath is not null)
        {
            await File.WriteAllTextAsync(outPath, json);
        }

        if (results.ContainsKey("inMemory") && results.ContainsKey("oneInstanceRedis") && results.ContainsKey("twoInstancesRedis"))
        {
            Console.WriteLine(Table(results));
        }
        return 0;
    }

    /// <summary>One in-memory instance, one through Redis, or two through Redis: started, every client connected and subscribed.</summary>
    private async Task<Column> StartColumnAsync(string? redis, int count, int portBase)
    {
        Environment.SetEnvironmentVariable("LOADTEST_REDIS", redis);
        var column = new Column();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var (child, _) = await ServerChild.StartAsync("liveupdates", portBase + i, Runner.Secret, clients);
                column.Servers.Add(child);
                column.Uris.Add(new Uri($"ws://127.0.0.1:{portBase + i}/"));
            }
        }
        finally
        {
            Environment.SetEnvironmentVariable("LOADTEST_REDIS", null);
        }

        var token = Runner.Token("900000001", [Guild]);
        column.Clients = new LoadClient[clients];
        await Parallel.ForEachAsync(Enumerable.Range(0, clients), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, _) =>
        {
            column.Clients[i] = await LoadClient.ConnectAsync(column.Uris[i % count], token, batch: false);
            await column.Clients[i].SubscribeAsync(Guild);
        });
        column.Readers = [.. column.Clients.Select(c => c.StartReading(_histogram))];

        // Every column stays connected for the whole run, idle while another runs: its clients ping as the
        // dashboard's client does (every 15 s, a third of the server's 60 s idle timeout).
        column.Pinger = new Pinger(column.Clients, 15);
        return column;
    }

    /// <summary>
    /// The bursts, interleaved: <see cref="WarmUpRounds"/> rounds of one burst per column (JIT, connections,
    /// scripts), then `repeats` rounds, so that the columns' tries share the same minutes of the machine. One burst on
    /// two shared cores moves by 10-20 % from one try to the next, and by as much from one minute to the next; run one
    /// column after the other, the ratio between them moved with the minute (0.65-1.0 for the same build on the same
    /// morning). A process's throughput also climbs over its first bursts (tiered JIT): one warm-up burst left the
    /// first measured try 20-30 % below the last. Each column keeps the try with its median throughput, and every
    /// try's figure beside it.
    /// </summary>
    private async Task BurstsAsync(List<Column> columns)
    {
        await InTurnAsync(columns, WarmUpRounds, burst, 0, null);
        await InTurnAsync(columns, Math.Max(1, repeats), burst, 0, c => c.Bursts);

        // The paced runs too: "p50 added by Redis" is the difference of two p50s of 6-10 ms each, measured minutes
        // apart it moved by more than the 2 ms it is compared with.
        await InTurnAsync(columns, Math.Max(1, repeats), pacedRate * pacedSeconds, pacedRate, c => c.Paced);
    }

    /// <summary><paramref name="rounds"/> rounds of one scenario per column in turn, each result kept in the column's list <paramref name="into"/> selects (none: warm-up).</summary>
    private async Task InTurnAsync(List<Column> columns, int rounds, int events, double rate, Func<Column, List<JsonObject>>? into)
    {
        for (var r = 0; r < rounds; r++)
        {
            foreach (var column in columns)
            {
                var result = await ScenarioAsync(column.Servers, column.Clients, events, rate);
                into?.Invoke(column).Add(result);
            }
        }
    }

    /// <summary>A column's figures: its median burst and median paced run (by p50), then the hops and (two instances) the storm.</summary>
    private async Task<JsonObject> AfterBurstsAsync(Column column, int redisPort, string prefix)
    {
        var result = new JsonObject { ["instances"] = column.Servers.Count };
        result["burst"] = Median(column.Bursts, b => b["deliveriesPerSecond"]!.GetValue<double>(), "triesDeliveriesPerSecond");
        result["paced"] = Median(column.Paced, p => p["latencyUs"]!["p50"]!.GetValue<double>(), "triesP50Us");
        result["hops"] = await RedisHops.MeasureAsync(column.Servers, column.Clients, _histogram, Guild, pacedRate * Math.Min(pacedSeconds, 4), pacedRate);
        if (column.Servers.Count == 2)
        {
            result["storm"] = await StormAsync(column.Clients, column.Uris, redisPort, prefix);
        }

        return result;
    }

    /// <summary><paramref name="events"/> events in all, broadcast from every instance at once (each its share), paced at <paramref name="rate"/> in all (0: a burst).</summary>
    private async Task<JsonObject> ScenarioAsync(List<ServerChild> servers, LoadClient[] members, int events, double rate)
    {
        await Runner.QuiesceAsync(members);
        _histogram.Reset();
        var before = members.Select(m => m.Received).ToArray();
        var refetchesBefore = members.Sum(m => m.Refetches);
        var share = events / servers.Count;
        // Paced: instance i starts i/rate seconds late, so the instances' calls interleave into one stream of `rate` events/s
        // evenly spaced, as the single instance's are (started together they would come in simultaneous pairs).
        var calls = await Task.WhenAll(servers.Select((s, i) => s.SendAsync(Runner.Bcast([Guild], share, rate / servers.Count, 64, offsetSeconds: rate > 0 ? i / rate : 0), TimeSpan.FromMinutes(5))));
        var sent = calls.Sum(c => c.GetProperty("count").GetInt32());
        long expected = (long)sent * members.Length;
        var (received, lastReceipt) = await Runner.WaitForAsync(members, expected, TimeSpan.FromSeconds(120), before);
        var first = calls.Min(c => c.GetProperty("first").GetInt64());
        var seconds = (lastReceipt - first) / (double)Stopwatch.Frequency;
        var lost = expected - received;
        var cut = members.Count(m => m.Ended);
        var refetches = members.Sum(m => m.Refetches) - refetchesBefore;
        var result = new JsonObject
        {
            ["events"] = sent,
            ["rate"] = rate,
            ["deliveriesExpected"] = expected,
            ["deliveriesReceived"] = received,
            ["lostDeliveries"] = Math.Max(0, lost),
            ["refetches"] = refetches,
            ["clientsCut"] = Runner.CutByReason(members),
            ["lossy"] = lost > 0 || cut > 0 || refetches > 0,
            ["seconds"] = seconds,
            ["deliveriesPerSecond"] = seconds > 0 ? received / seconds : 0,
            ["latencyUs"] = new JsonObject { ["p50"] = _histogram.Quantile(0.5), ["p99"] = _histogram.Quantile(0.99), ["max"] = _histogram.Quantile(1) },
            ["callP50Us"] = calls.Average(c => c.GetProperty("callP50Us").GetDouble()),
        };
        Runner.Log($"{servers.Count} instance(s), {sent} events {(rate > 0 ? $"at {rate}/s" : "burst")} into {members.Length}: {received}/{expected} in {seconds:F3} s = {received / Math.Max(seconds, 1e-9):F0}/s; p50 {_histogram.Quantile(0.5) / 1000:F2} ms p99 {_histogram.Quantile(0.99) / 1000:F2} ms; lost {Math.Max(0, lost)}, refetches {refetches}, cut {cut}");
        return result;
    }

    /// <summary>
    /// Every client drops its connection and subscribes again on the other instance with the position of 20 events
    /// ago: the time until all of them are subscribed and have their 20 events replayed from Redis, and how many recovered.
    /// </summary>
    private static async Task<JsonObject> StormAsync(LoadClient[] previous, List<Uri> uris, int redisPort, string prefix)
    {
        var meta = await RespAsync(redisPort, "HMGET", $"{prefix}:{{{Guild}}}:meta", "e", "s");
        var epoch = meta[0];
        var top = long.Parse(meta[1], Inv);
        var since = top - 20;
        foreach (var c in previous)
        {
            c.Abort();
        }

        var token = Runner.Token("900000001", [Guild]);
        var recovered = 0;
        var replayed = 0L;
        var failed = 0;
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(Enumerable.Range(0, previous.Length), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, _) =>
        {
            try
            {
                using var socket = new ClientWebSocket();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await socket.ConnectAsync(uris[(i + 1) % uris.Count], cts.Token); // the other instance
                var buffer = new byte[64 * 1024];
                await ReceiveUntilAsync(socket, buffer, "connected", cts.Token);
                await SendAsync(socket, $"{{\"type\":\"auth\",\"token\":\"{token}\"}}", cts.Token);
                await ReceiveUntilAsync(socket, buffer, "authenticated", cts.Token);
                await SendAsync(socket, $"{{\"type\":\"subscribe\",\"guildId\":\"{Guild}\",\"lastSeq\":{since},\"epoch\":\"{epoch}\"}}", cts.Token);
                var subscribed = await ReceiveUntilAsync(socket, buffer, "subscribed", cts.Token);
                if (subscribed.GetProperty("data").GetProperty("recovered").GetBoolean())
                {
                    Interlocked.Increment(ref recovered);
                }

                for (var k = 0; k < top - since; k++)
                {
                    await ReceiveUntilAsync(socket, buffer, "bench:tick", cts.Token);
                    Interlocked.Increment(ref replayed);
                }

                socket.Abort();
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or JsonException)
            {
                Interlocked.Increment(ref failed);
            }
        });
        var seconds = sw.Elapsed.TotalSeconds;
        Runner.Log($"reconnect storm: {previous.Length} clients moved instances in {seconds:F2} s ({previous.Length / seconds:F0}/s); recovered {recovered}, events replayed {replayed} of {(top - since) * previous.Length}, failed {failed}");
        return new JsonObject
        {
            ["clients"] = previous.Length,
            ["seconds"] = seconds,
            ["perSecond"] = previous.Length / seconds,
            ["recovered"] = recovered,
            ["replayedEvents"] = replayed,
            ["expectedReplayedEvents"] = (top - since) * previous.Length,
            ["failed"] = failed,
        };
    }

    /// <summary>The broker alone, in this process: publishes through the Lua script as fast as they are issued, and one awaited publish at a time.</summary>
    private async Task<JsonObject> BrokerAloneAsync(string configuration)
    {
        var result = new JsonObject();
        await using var broker = new RedisBroker(new RedisBrokerOptions { Configuration = configuration, KeyPrefix = "alone-" + Guid.NewGuid().ToString("N") });
        var handler = new CountingHandler();
        await broker.StartAsync(handler, CancellationToken.None);
        var data = Encoding.UTF8.GetBytes("{\"id\":\"1234567890\",\"name\":\"a rule\",\"padding\":\"" + new string('x', 120) + "\"}");
        foreach (var guilds in new[] { 1, 100 })
        {
            var tasks = new Task<StreamPosition>[publishes];
            var sw = Stopwatch.StartNew();
            for (var i = 0; i < publishes; i++)
            {
                tasks[i] = broker.PublishAsync(BrokerMessage.Event((200000000000000000L + (i % guilds)).ToString(Inv), "bench:tick", data, 0), CancellationToken.None).AsTask();
                if (i % 5000 == 4999)
                {
                    await Task.WhenAll(tasks.AsSpan(i - 4999, 5000).ToArray()); // at most 5,000 waiting: within the default outbox (10,000)
                }
            }

            await Task.WhenAll(tasks);
            var seconds = sw.Elapsed.TotalSeconds;
            result[$"publishPerSecond_{guilds}Guilds"] = publishes / seconds;
            Runner.Log($"broker alone: {publishes} publishes into {guilds} guild(s) in {seconds:F2} s = {publishes / seconds:F0}/s");
        }

        var rtt = new LatencyHistogram();
        for (var i = 0; i < 2000; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await broker.PublishAsync(BrokerMessage.Event("300000000000000000", "bench:tick", data, 0), CancellationToken.None);
            rtt.Record((long)(Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1000));
        }

        result["awaitedPublishUs"] = new JsonObject { ["p50"] = rtt.Quantile(0.5), ["p99"] = rtt.Quantile(0.99) };
        Runner.Log($"broker alone: one awaited publish p50 {rtt.Quantile(0.5):F0} µs, p99 {rtt.Quantile(0.99):F0} µs");
        return result;
    }

    private static string Table(JsonObject r)
    {
        static string F(JsonNode? n, string format = "N0") => n is null ? "—" : n.GetValue<double>().ToString(format, Inv);
        var sb = new StringBuilder();
        sb.AppendLine(Inv, $"| measure ({r["clients"]} clients, one guild) | one instance, in-memory | one instance, Redis | two instances, Redis |");
        sb.AppendLine("|---|---:|---:|---:|");
        foreach (var (key, title) in new[] { ("burst", $"burst of {r["burst"]} events"), ("paced", $"paced, {r["pacedRate"]} events/s") })
        {
            var a = r["inMemory"]![key]!;
            var o = r["oneInstanceRedis"]![key]!;
            var b = r["twoInstancesRedis"]![key]!;
            string Dps(JsonNode s) => s["lossy"]!.GetValue<bool>() ? $"LOSSY ({s["lostDeliveries"]} lost, {s["refetches"]} refetches)" : F(s["deliveriesPerSecond"]);
            string Lat(JsonNode s) => $"{F(s["latencyUs"]!["p50"]!.GetValue<double>() / 1000, "F2")} / {F(s["latencyUs"]!["p99"]!.GetValue<double>() / 1000, "F2")}";
            string Loss(JsonNode s) => $"{s["lostDeliveries"]}{(s["triesLostDeliveries"] is JsonArray t ? $" (every try: {string.Join("/", t)})" : "")}; {s["refetches"]}; {s["clientsCut"]!.ToJsonString()}";
            string Tries(JsonNode s) => s["triesDeliveriesPerSecond"] is JsonArray t && t.Count > 1 ? $" (tries {string.Join(" / ", t.Select(x => x!.GetValue<double>().ToString("N0", Inv)))})" : "";
            sb.AppendLine(Inv, $"| {title}: deliveries/s{(key == "burst" ? $", median of {r["burstRepeats"]}" : "")} | {Dps(a)}{Tries(a)} | {Dps(o)}{Tries(o)} | {Dps(b)}{Tries(b)} |");
            string P50s(JsonNode s) => s["triesP50Us"] is JsonArray t && t.Count > 1 ? $" (p50 tries {string.Join(" / ", t.Select(x => (x!.GetValue<double>() / 1000).ToString("F2", Inv)))})" : "";
            sb.AppendLine(Inv, $"| {title}: latency p50 / p99 (ms){(key == "paced" ? $", run with the median p50 of {r["burstRepeats"]}" : "")} | {Lat(a)}{P50s(a)} | {Lat(o)}{P50s(o)} | {Lat(b)}{P50s(b)} |");
            sb.AppendLine(Inv, $"| {title}: lost deliveries; refetches; clients cut | {Loss(a)} | {Loss(o)} | {Loss(b)} |");
        }

        RedisHops.AppendRows(sb, r);
        var storm = r["twoInstancesRedis"]!["storm"]!;
        sb.AppendLine(Inv, $"| reconnect storm: {storm["clients"]} clients move instances, recover 20 events each: seconds; recovered; replayed | — | — | {F(storm["seconds"], "F2")} s; {storm["recovered"]}; {storm["replayedEvents"]} of {storm["expectedReplayedEvents"]} (failed {storm["failed"]}) |");
        var broker = r["broker"]!;
        sb.AppendLine(Inv, $"| broker alone: publishes/s through the Lua script, 1 guild / 100 guilds | — | — | {F(broker["publishPerSecond_1Guilds"])} / {F(broker["publishPerSecond_100Guilds"])} |");
        sb.AppendLine(Inv, $"| broker alone: one awaited publish, p50 / p99 (µs) | — | — | {F(broker["awaitedPublishUs"]!["p50"])} / {F(broker["awaitedPublishUs"]!["p99"])} |");
        return sb.ToString();
    }

    private static async Task SendAsync(ClientWebSocket socket, string text, CancellationToken ct) =>
        await socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, ct);

    private static async Task<JsonElement> ReceiveUntilAsync(ClientWebSocket socket, byte[] buffer, string eventName, CancellationToken ct)
    {
        while (true)
        {
            var length = 0;
            ValueWebSocketReceiveResult result;
            do
            {
                result = await socket.ReceiveAsync(buffer.AsMemory(length), ct);
                length += result.Count;
            }
            while (!result.EndOfMessage);

            using var document = JsonDocument.Parse(buffer.AsMemory(0, length));
            if (document.RootElement.GetProperty("event").GetString() == eventName)
            {
                return document.RootElement.Clone();
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartRedis(int port)
    {
        var dir = Directory.CreateTempSubdirectory("loadtest-redis-").FullName;
        var info = new ProcessStartInfo("redis-server") { UseShellExecute = false, RedirectStandardOutput = true };
        foreach (var arg in new[] { "--port", port.ToString(Inv), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start redis-server (apt-get install redis-server)");
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    private static async Task WaitForRedisAsync(int port)
    {
        for (var i = 0; i < 200; i++)
        {
            try
            {
                if ((await RespAsync(port, "PING"))[0] == "PONG")
                {
                    return;
                }
            }
            catch (SocketException)
            {
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("redis-server did not start");
    }

    /// <summary>One command over a plain RESP connection; the reply's simple or bulk strings.</summary>
    private static async Task<List<string>> RespAsync(int port, params string[] args)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var buffer = new byte[64 * 1024];
        var read = await stream.ReadAsync(buffer);
        var lines = Encoding.UTF8.GetString(buffer, 0, read).Split("\r\n");
        return [.. lines.Where(l => l.Length > 0 && l[0] is not ('*' or '$')).Select(l => l.TrimStart('+'))];
    }

    /// <summary>The try with the median <paramref name="by"/>, with every try's figure (as <paramref name="triesKey"/>) and lost deliveries beside it.</summary>
    private static JsonObject Median(List<JsonObject> tries, Func<JsonObject, double> by, string triesKey)
    {
        var median = tries.OrderBy(by).ElementAt(tries.Count / 2);
        median[triesKey] = new JsonArray([.. tries.Select(t => (JsonNode)Math.Round(by(t)))]);
        median["triesLostDeliveries"] = new JsonArray([.. tries.Select(t => (JsonNode)t["lostDeliveries"]!.GetValue<long>())]);
        return median;
    }

    /// <summary>One column of the table: its server processes and its clients (all connected for the whole run; idle while another column runs).</summary>
    private sealed class Column : IAsyncDisposable
    {
        public string Name { get; set; } = "";

        public List<ServerChild> Servers { get; } = [];

        public List<Uri> Uris { get; } = [];

        public LoadClient[] Clients { get; set; } = [];

        public Task[] Readers { get; set; } = [];

        public List<JsonObject> Bursts { get; } = [];

        public List<JsonObject> Paced { get; } = [];

        public Pinger? Pinger { get; set; }

        public async ValueTask DisposeAsync()
        {
            Pinger?.Dispose();
            foreach (var c in Clients)
            {
                c?.Abort();
            }

            await Task.WhenAll(Readers).WaitAsync(TimeSpan.FromSeconds(30));
            foreach (var server in Servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    private sealed class CountingHandler : IBrokerHandler
    {
        public void OnPublication(Publication publication)
        {
        }

        public void OnStreamLost(string guildId, StreamPosition position)
        {
        }
    }
}
