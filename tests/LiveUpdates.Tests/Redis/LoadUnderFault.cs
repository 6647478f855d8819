using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Busy guilds across a Redis fault: every instance broadcasts all along (one event per guild every ~2 ms each), two
/// clients per instance stay subscribed to every guild, and two "hoppers" leave every ~300 ms and resubscribe with
/// their last position of each guild on the other instance. Afterwards, per client: events lost with no signal (no
/// refetch, no <c>recovered: false</c>, of their guild, covering them), events received twice, and — over every client
/// — positions (guild, epoch, seq) seen with two different events; the signals are also counted per guild.
/// </summary>
internal sealed class LoadUnderFault
{
    public const string G = RedisScaleOutTests.G1;

    private readonly IReadOnlyList<TestServer> _servers;
    private readonly IReadOnlyList<RedisBroker> _brokers;
    private readonly IReadOnlyList<FaultGuild> _guilds;
    private readonly string[] _ids;
    private readonly List<Watcher> _watchers = [];

    /// <summary>One guild, <see cref="G"/>, whose keys are <paramref name="metaKey"/> and <paramref name="streamKey"/>.</summary>
    public LoadUnderFault(IReadOnlyList<TestServer> servers, IReadOnlyList<RedisBroker> brokers, string metaKey, string streamKey)
        : this(servers, brokers, [new FaultGuild(G, metaKey, streamKey)])
    {
    }

    /// <summary>Several guilds (e.g. one on each shard of a Redis Cluster): the events go round them.</summary>
    public LoadUnderFault(IReadOnlyList<TestServer> servers, IReadOnlyList<RedisBroker> brokers, IReadOnlyList<FaultGuild> guilds)
    {
        _servers = servers;
        _brokers = brokers;
        _guilds = guilds;
        _ids = [.. guilds.Select(g => g.Id)];
    }

    public async Task ConnectAsync()
    {
        foreach (var server in _servers)
        {
            for (var i = 0; i < 2; i++)
            {
                var watcher = new Watcher { Client = await server.ConnectAuthenticatedAsync("u", _ids) };
                await SubscribeAllAsync(watcher);
                _watchers.Add(watcher);
            }
        }

        for (var i = 0; i < 2; i++)
        {
            var hopper = new Watcher { Hops = true, Server = i % _servers.Count, Client = await _servers[i % _servers.Count].ConnectAuthenticatedAsync("u", _ids) };
            await SubscribeAllAsync(hopper);
            _watchers.Add(hopper);
        }
    }

    /// <summary>Runs the load around <paramref name="fault"/>, then counts; the test asserts on the result.</summary>
    public async Task<FaultCounts> RunAsync(Func<Task> fault)
    {
        using var stop = new CancellationTokenSource();
        var broadcasters = _servers.Select((server, origin) => Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                foreach (var guild in _ids)
                {
                    server.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { o = origin, n = n++ }); // guild n % count
                }

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

        await Wait.UntilAsync(() => _brokers.All(b => b.OutboxLength == 0), "every outbox drained", TimeSpan.FromSeconds(60));
        for (var origin = 0; origin < _servers.Count; origin++)
        {
            foreach (var guild in _ids)
            {
                _servers[origin].Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { o = origin, n = -1, marker = true });
            }
        }

        foreach (var watcher in _watchers)
        {
            var markers = 0;
            while (markers < _servers.Count * _ids.Length)
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

    /// <summary>Subscribes to every guild (with its last position when the log has one), logging whatever arrives meanwhile.</summary>
    private async Task SubscribeAllAsync(Watcher watcher)
    {
        foreach (var guild in _ids)
        {
            await watcher.Client.SendAsync(LastPosition(watcher.Log, guild) is { } at
                ? new { type = "subscribe", guildId = guild, lastSeq = at.Seq, epoch = at.Epoch }
                : (object)new { type = "subscribe", guildId = guild });
            while (true)
            {
                var message = await watcher.Client.NextAsync(TimeSpan.FromSeconds(30));
                watcher.Log.Add(message);
                var name = message.GetProperty("event").GetString();
                Assert.That(name, Is.Not.EqualTo("error"), $"subscribing to {guild}: {message}");
                if (name == "subscribed" && message.GetProperty("guildId").GetString() == guild)
                {
                    break;
                }
            }
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
            hopper.Server = (hopper.Server + 1) % _servers.Count;
            hopper.Client = await _servers[hopper.Server].ConnectAuthenticatedAsync("u", _ids);
            await SubscribeAllAsync(hopper);
        }
    }

    /// <summary>The last position a client can name in <paramref name="guild"/>: its last event's, or the last <c>subscribed</c> / <c>refetch</c>.</summary>
    private static (long Seq, string Epoch)? LastPosition(List<JsonElement> log, string guild)
    {
        for (var i = log.Count - 1; i >= 0; i--)
        {
            var message = log[i];
            if (message.TryGetProperty("guildId", out var id) && id.GetString() != guild)
            {
                continue;
            }

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
        // Where every published event ended up: its position in its guild's stream now (events of an epoch that is
        // gone, or replaced by a gap, are not in it).
        var database = _brokers[0].Connection!.GetDatabase();
        var epochNow = new Dictionary<string, string?>();
        var positions = new Dictionary<(int, int), long>();
        foreach (var guild in _guilds)
        {
            epochNow[guild.Id] = (string?)await database.HashGetAsync(guild.MetaKey, "e");
            foreach (var entry in await database.StreamRangeAsync(guild.StreamKey))
            {
                if ((string?)entry["d"] is { Length: > 0 } json && JsonDocument.Parse(json).RootElement is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("o", out var o) && data.TryGetProperty("n", out var n))
                {
                    positions[(o.GetInt32(), n.GetInt32())] = long.Parse(entry.Id.ToString().Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
                }
            }
        }

        var named = new Dictionary<(string, string, long), HashSet<(int, int)>>();
        var perClient = new List<ClientCounts>();
        var signalsPerGuild = _ids.ToDictionary(g => g, _ => 0);
        foreach (var watcher in _watchers)
        {
            var seen = new HashSet<(int, int)>();
            int received = 0, duplicated = 0;
            var signals = new List<(string Guild, string Epoch, long Seq)>();
            var outOfOrder = 0;
            var lastSeq = new Dictionary<(string, string), long>();
            foreach (var message in watcher.Log)
            {
                var name = message.GetProperty("event").GetString();
                var guild = message.TryGetProperty("guildId", out var id) ? id.GetString()! : string.Empty;
                if (name is "refetch" || (name is "subscribed" && message.GetProperty("data").TryGetProperty("recovered", out var recovered) && !recovered.GetBoolean()))
                {
                    var data = message.GetProperty("data");
                    signals.Add((guild, data.GetProperty("epoch").GetString()!, data.GetProperty("seq").GetInt64()));
                    lastSeq[(guild, data.GetProperty("epoch").GetString()!)] = data.GetProperty("seq").GetInt64();
                    signalsPerGuild[guild]++;
                    continue;
                }

                if (name is "subscribed")
                {
                    var data = message.GetProperty("data");
                    lastSeq[(guild, data.GetProperty("epoch").GetString()!)] = data.GetProperty("seq").GetInt64(); // recovery goes on from here
                    continue;
                }

                if (name != LiveEvents.Moderation.RuleCreated)
                {
                    continue;
                }

                var epoch = message.GetProperty("epoch").GetString()!;
                var seq = message.GetProperty("seq").GetInt64();
                if (lastSeq.TryGetValue((guild, epoch), out var previous) && seq <= previous && !watcher.Hops)
                {
                    outOfOrder++;
                }

                lastSeq[(guild, epoch)] = seq;
                var body = message.GetProperty("data");
                var key = (body.GetProperty("o").GetInt32(), body.GetProperty("n").GetInt32());
                if (!named.TryGetValue((guild, epoch, seq), out var keys))
                {
                    named[(guild, epoch, seq)] = keys = [];
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
            var unsignalled = missing.Count(k =>
            {
                var guild = _ids[k.n % _ids.Length];
                var signalsNow = signals.Where(s => s.Guild == guild && s.Epoch == epochNow[guild]).Select(s => s.Seq).ToList();
                return positions.TryGetValue(k, out var at) ? !signalsNow.Exists(seq => seq >= at) : !signals.Exists(s => s.Guild == guild);
            });
            perClient.Add(new ClientCounts(received, missing.Count, duplicated, signals.Count, unsignalled, outOfOrder));
        }

        var reused = named.Count(p => p.Value.Count > 1);
        var result = new FaultCounts(perClient, reused, counts.Sum(), signalsPerGuild);
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

/// <summary>A guild of the load and its keys (meta hash and stream), where the counting looks each event's position up.</summary>
internal sealed record FaultGuild(string Id, string MetaKey, string StreamKey)
{
    /// <summary>The guild's keys under <paramref name="prefix"/> (the broker's <c>KeyPrefix</c>).</summary>
    public static FaultGuild Under(string prefix, string id) => new(id, $"{prefix}:{{{id}}}:meta", $"{prefix}:{{{id}}}:stream");
}

/// <summary>One client's counts.</summary>
internal sealed record ClientCounts(int Received, int Missing, int Duplicated, int Signals, int Unsignalled, int OutOfOrder);

/// <summary>The counts of one run.</summary>
internal sealed record FaultCounts(IReadOnlyList<ClientCounts> Clients, int ReusedPositions, int Broadcast, IReadOnlyDictionary<string, int> SignalsPerGuild)
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
        $"broadcast {Broadcast}; lost-and-unsignalled {LostUnsignalled}, duplicated {Duplicated}, reused positions {ReusedPositions}, signals {Refetches} (per guild: {string.Join(", ", SignalsPerGuild.Select(g => $"{g.Key}: {g.Value}"))}); per client (received/missing/duplicated/signals/unsignalled): " +
        string.Join(", ", Clients.Select(c => $"{c.Received}/{c.Missing}/{c.Duplicated}/{c.Signals}/{c.Unsignalled}"));
}
