using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// A busy guild across a Redis fault: every instance broadcasts all along (one event every ~2 ms each), two clients per
/// instance stay subscribed, and two "hoppers" leave every ~300 ms and resubscribe with their last position on the other
/// instance. Afterwards, per client: events lost with no signal (no refetch, no <c>recovered: false</c>, covering them),
/// events received twice, and — over every client — positions (epoch, seq) seen with two different events.
/// </summary>
internal sealed class LoadUnderFault(IReadOnlyList<TestServer> servers, IReadOnlyList<RedisBroker> brokers, string metaKey, string streamKey)
{
    public const string G = RedisScaleOutTests.G1;

    private readonly List<Watcher> _watchers = [];

    public async Task ConnectAsync()
    {
        foreach (var server in servers)
        {
            for (var i = 0; i < 2; i++)
            {
                var watcher = new Watcher { Client = await server.ConnectAuthenticatedAsync("u", [G]) };
                watcher.Log.Add(await watcher.Client.SubscribeAsync(G));
                _watchers.Add(watcher);
            }
        }

        for (var i = 0; i < 2; i++)
        {
            var hopper = new Watcher { Hops = true, Server = i % servers.Count, Client = await servers[i % servers.Count].ConnectAuthenticatedAsync("u", [G]) };
            hopper.Log.Add(await hopper.Client.SubscribeAsync(G));
            _watchers.Add(hopper);
        }
    }

    /// <summary>Runs the load around <paramref name="fault"/>, then counts; the test asserts on the result.</summary>
    public async Task<FaultCounts> RunAsync(Func<Task> fault)
    {
        using var stop = new CancellationTokenSource();
        var broadcasters = servers.Select((server, origin) => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { o = origin, n = n++ });
                await Task.Delay(2);
            }

            return n;
        })).ToArray();
        var hopping = _watchers.Where(w => w.Hops).Select(w => HopAsync(w, stop.Token)).ToArray();

        await Task.Delay(500);
        await fault();
        await Task.Delay(1000);
        await stop.CancelAsync();
        var counts = await Task.WhenAll(broadcasters);
        await Task.WhenAll(hopping);

        await Wait.UntilAsync(() => brokers.All(b => b.OutboxLength == 0), "every outbox drained", TimeSpan.FromSeconds(60));
        for (var origin = 0; origin < servers.Count; origin++)
        {
            servers[origin].Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { o = origin, n = -1, marker = true });
        }

        foreach (var watcher in _watchers)
        {
            var markers = 0;
            while (markers < servers.Count)
            {
                var message = await watcher.Client.NextAsync(TimeSpan.FromSeconds(60));
                watcher.Log.Add(message);
                if (message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("marker", out _))
                {
                    markers++;
                }
            }
        }

        Assert.That(_watchers.All(w => w.Client.Socket.State == System.Net.WebSockets.WebSocketState.Open), Is.True, "every client stayed connected");
        return await CountAsync(counts);
    }

    public async ValueTask DisposeClientsAsync()
    {
        foreach (var watcher in _watchers)
        {
            await watcher.Client.DisposeAsync();
        }
    }

    private async Task HopAsync(Watcher hopper, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            await Task.Delay(300, CancellationToken.None);
            var old = hopper.Client;
            await old.DisposeAsync();
            hopper.Log.AddRange(old.TakeAllBuffered());
            hopper.Server = (hopper.Server + 1) % servers.Count;
            var client = await servers[hopper.Server].ConnectAuthenticatedAsync("u", [G]);
            hopper.Client = client;
            hopper.Log.Add(LastPosition(hopper.Log) is { } at ? await client.SubscribeAsync(G, at.Seq, at.Epoch) : await client.SubscribeAsync(G));
        }
    }

    /// <summary>The last position a client can name: its last event's, or the last <c>subscribed</c> / <c>refetch</c>.</summary>
    private static (long Seq, string Epoch)? LastPosition(List<JsonElement> log)
    {
        for (var i = log.Count - 1; i >= 0; i--)
        {
            var message = log[i];
            switch (message.GetProperty("event").GetString())
            {
                case "subscribed" or "refetch":
                    var data = message.GetProperty("data");
                    return (data.GetProperty("seq").GetInt64(), data.GetProperty("epoch").GetString()!);
                case var name when name == LiveEvents.Moderation.RuleCreated:
                    return (message.GetProperty("seq").GetInt64(), message.GetProperty("epoch").GetString()!);
            }
        }

        return null;
    }

    private async Task<FaultCounts> CountAsync(int[] counts)
    {
        // Where every published event ended up: its position in the guild's stream now (events of an epoch that is
        // gone, or replaced by a gap, are not in it).
        var database = brokers[0].Connection!.GetDatabase();
        var epochNow = (string?)await database.HashGetAsync(metaKey, "e");
        var positions = new Dictionary<(int, int), long>();
        foreach (var entry in await database.StreamRangeAsync(streamKey))
        {
            if ((string?)entry["d"] is { Length: > 0 } json && JsonDocument.Parse(json).RootElement is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("o", out var o) && data.TryGetProperty("n", out var n))
            {
                positions[(o.GetInt32(), n.GetInt32())] = long.Parse(entry.Id.ToString().Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        var named = new Dictionary<(string, long), HashSet<(int, int)>>();
        var perClient = new List<ClientCounts>();
        foreach (var watcher in _watchers)
        {
            var seen = new HashSet<(int, int)>();
            int received = 0, duplicated = 0;
            var signals = new List<(string Epoch, long Seq)>();
            var outOfOrder = 0;
            var lastSeq = new Dictionary<string, long>();
            foreach (var message in watcher.Log)
            {
                var name = message.GetProperty("event").GetString();
                if (name is "refetch" || (name is "subscribed" && message.GetProperty("data").TryGetProperty("recovered", out var recovered) && !recovered.GetBoolean()))
                {
                    var data = message.GetProperty("data");
                    signals.Add((data.GetProperty("epoch").GetString()!, data.GetProperty("seq").GetInt64()));
                    lastSeq[data.GetProperty("epoch").GetString()!] = data.GetProperty("seq").GetInt64();
                    continue;
                }

                if (name is "subscribed")
                {
                    var data = message.GetProperty("data");
                    lastSeq[data.GetProperty("epoch").GetString()!] = data.GetProperty("seq").GetInt64(); // recovery goes on from here
                    continue;
                }

                if (name != LiveEvents.Moderation.RuleCreated)
                {
                    continue;
                }

                var epoch = message.GetProperty("epoch").GetString()!;
                var seq = message.GetProperty("seq").GetInt64();
                if (lastSeq.TryGetValue(epoch, out var previous) && seq <= previous && !watcher.Hops)
                {
                    outOfOrder++;
                }

                lastSeq[epoch] = seq;
                var body = message.GetProperty("data");
                var key = (body.GetProperty("o").GetInt32(), body.GetProperty("n").GetInt32());
                if (!named.TryGetValue((epoch, seq), out var keys))
                {
                    named[(epoch, seq)] = keys = [];
                }

                keys.Add(key);
                if (key.Item1 < 0 || key.Item2 < 0)
                {
                    continue; // the markers
                }

                received++;
                if (!seen.Add(key))
                {
                    duplicated++;
                }
            }

            var missing = counts.SelectMany((count, origin) => Enumerable.Range(0, count).Select(n => (origin, n))).Where(k => !seen.Contains(k)).ToList();
            var signalsNow = signals.Where(s => s.Epoch == epochNow).Select(s => s.Seq).ToList();
            var unsignalled = missing.Count(k => positions.TryGetValue(k, out var at) ? !signalsNow.Exists(seq => seq >= at) : signals.Count == 0);
            perClient.Add(new ClientCounts(received, missing.Count, duplicated, signals.Count, unsignalled, outOfOrder));
        }

        var reused = named.Count(p => p.Value.Count > 1);
        var result = new FaultCounts(perClient, reused, counts.Sum());
        TestContext.Progress.WriteLine(result.ToString());
        return result;
    }

    private sealed class Watcher
    {
        public required TestClient Client { get; set; }

        public bool Hops { get; init; }

        public int Server { get; set; }

        public List<JsonElement> Log { get; } = [];
    }
}

/// <summary>One client's counts.</summary>
internal sealed record ClientCounts(int Received, int Missing, int Duplicated, int Signals, int Unsignalled, int OutOfOrder);

/// <summary>The counts of one run.</summary>
internal sealed record FaultCounts(IReadOnlyList<ClientCounts> Clients, int ReusedPositions, int Broadcast)
{
    public int LostUnsignalled => Clients.Sum(c => c.Unsignalled);

    public int Duplicated => Clients.Sum(c => c.Duplicated);

    public int Refetches => Clients.Sum(c => c.Signals);

    public void AssertGuarantee()
    {
        Assert.Multiple(() =>
        {
            Assert.That(LostUnsignalled, Is.Zero, "events lost with no refetch covering them");
            Assert.That(Duplicated, Is.Zero, "events received twice");
            Assert.That(ReusedPositions, Is.Zero, "positions (epoch, seq) seen with two different events");
            Assert.That(Clients.Sum(c => c.OutOfOrder), Is.Zero, "positions that went backwards within an epoch");
        });
    }

    public override string ToString() =>
        $"broadcast {Broadcast}; lost-and-unsignalled {LostUnsignalled}, duplicated {Duplicated}, reused positions {ReusedPositions}, signals {Refetches}; per client (received/missing/duplicated/signals/unsignalled): " +
        string.Join(", ", Clients.Select(c => $"{c.Received}/{c.Missing}/{c.Duplicated}/{c.Signals}/{c.Unsignalled}"));
}
