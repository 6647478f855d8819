using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Redis faults under load, against a real redis-server per test: killed (SIGKILL) and restarted with and without
/// persistence, paused (SIGSTOP) past the command timeout, the subscription connection killed, pub/sub messages that
/// never arrive, and a Redis that is not there at start-up. Two instances broadcast all along to clients on both;
/// per client, lost, duplicated and unsignalled events are counted: duplicated and lost-and-unsignalled must be zero.
/// </summary>
/// <remarks>
/// The brokers use a 1 s command timeout and a 1 s position check (defaults 5 s and 10 s) so that each test takes
/// seconds; the figures docs/scale-out.md gives come from these runs.
/// </remarks>
[TestFixture]
public sealed class RedisFaultTests
{
    private const string G = RedisScaleOutTests.G1;

    private RedisServer? _redis;
    private readonly List<TestServer> _servers = [];
    private readonly List<RedisBroker> _brokers = [];
    private readonly string _prefix = "fault-" + Guid.NewGuid().ToString("N");

    [TearDown]
    public async Task TearDown()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
        _brokers.Clear();
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task RedisKilledMidStream_AndRestarted_NothingIsLostUnsignalled_NothingDuplicated(bool persistent)
    {
        _redis = await RedisServer.StartAsync(persistent);
        var run = await StartRunAsync();
        var epochBefore = run.Clients[0].Epoch;

        var report = await run.UnderLoadAsync(async () =>
        {
            await _redis.KillAsync();
            foreach (var server in _servers)
            {
                server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { o = -1, n = 0 }); // never throws, never blocks
            }

            await Wait.UntilAsync(() => _servers.All(s => s.Manager.GetHealth().Broker is { IsAvailable: false }), "the brokers report Redis unavailable");
            await Task.Delay(500); // broadcasts keep coming while Redis is down: they wait in the outbox
            await _redis.RestartAsync();
        });

        report.AssertNothingLostUnsignalled();
        Assert.That(_servers.All(s => s.Manager.GetHealth().Broker is { IsAvailable: true }), Is.True, "connected again");
        if (persistent)
        {
            Assert.That(run.Clients.All(c => c.Epoch == epochBefore), Is.True, "with persistence the stream keeps its epoch");
        }
        else
        {
            Assert.That(report.Clients.All(c => c.Refetches > 0), Is.True, "without persistence every client is told to refetch (a new epoch)");
            Assert.That(run.Clients.All(c => c.Epoch != epochBefore), Is.True, "a new epoch");
        }
    }

    [Test]
    public async Task RedisPausedPastTheCommandTimeout_NoCrash_DeliveryResumes_NothingLostUnsignalled()
    {
        _redis = await RedisServer.StartAsync();
        var run = await StartRunAsync();

        var report = await run.UnderLoadAsync(async () =>
        {
            _redis.Pause();
            await Task.Delay(2500); // past the 1 s command timeout
            _redis.Resume();
        });

        report.AssertNothingLostUnsignalled();
    }

    [Test]
    public async Task TheSubscriptionConnectionKilled_TheGapIsRepairedFromTheStream_EveryEventOnceInOrder()
    {
        _redis = await RedisServer.StartAsync();
        var run = await StartRunAsync();

        var report = await run.UnderLoadAsync(async () =>
        {
            Assert.That(await _redis.CommandAsync("CLIENT", "KILL", "TYPE", "pubsub"), Does.StartWith(":"));
        });

        report.AssertNothingLostUnsignalled();
        Assert.Multiple(() =>
        {
            Assert.That(report.Clients.Sum(c => c.Missing), Is.Zero, "repaired: nothing missing");
            Assert.That(report.Clients.Sum(c => c.Refetches), Is.Zero, "repaired: nobody had to refetch");
        });
    }

    [Test]
    public async Task APubSubMessageThatNeverArrives_IsRepairedByTheNextPublication_OrByThePositionCheck()
    {
        _redis = await RedisServer.StartAsync();
        var run = await StartRunAsync();
        var client = run.Clients[^1]; // on instance B

        // Appended to the stream as the script would, but never published on the channel.
        await AppendWithoutPublishingAsync("{\"o\":9,\"n\":1}");
        _servers[0].Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { o = 9, n = 2 });
        var next = await RedisScaleOutTests.ReceiveEventsAsync(client.Client, 2, TimeSpan.FromSeconds(5));

        // Nothing published after it: only the periodic position check (1 s here) can notice.
        await AppendWithoutPublishingAsync("{\"o\":9,\"n\":3}");
        var byCheck = await RedisScaleOutTests.ReceiveEventsAsync(client.Client, 1, TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(next.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 1, 2 }), "read back from the stream, then the next");
            Assert.That(next.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(new long[] { 1, 2 }));
            Assert.That(byCheck.Single().GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(3), "the position check found it");
        });
    }

    [Test]
    public async Task APubSubMessageThatNeverArrives_AndIsNoLongerInTheStream_IsSignalledAsARefetch()
    {
        _redis = await RedisServer.StartAsync();
        var run = await StartRunAsync();
        var client = run.Clients[^1];

        Assert.That(await _redis.CommandAsync("HINCRBY", MetaKey, "s", "1"), Does.StartWith(":1")); // a position nobody can read back
        var refetch = await RedisScaleOutTests.ReceiveEventsAsync(client.Client, 1, TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(refetch.Single().GetProperty("event").GetString(), Is.EqualTo("refetch"));
            Assert.That(refetch.Single().GetProperty("data").GetProperty("seq").GetInt64(), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task RedisUnreachableAtStartUp_TheHostRuns_ClientsAreToldToRefetchOnceItIsThere_ThenGetEveryEvent()
    {
        _redis = await RedisServer.StartAsync();
        await _redis.KillAsync();
        var server = await StartInstanceAsync();
        Assert.That(server.Manager.GetHealth().Broker!.IsAvailable, Is.False);
        await using var client = await server.ConnectAuthenticatedAsync("u", [G], G);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 }); // waits in the outbox

        await _redis.RestartAsync();
        var untilRefetch = new List<JsonElement>();
        while (!untilRefetch.Exists(e => e.GetProperty("event").GetString() == "refetch"))
        {
            untilRefetch.AddRange(await RedisScaleOutTests.ReceiveEventsAsync(client, 1, TimeSpan.FromSeconds(15)));
        }

        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 2 });
        var later = await RedisScaleOutTests.ReceiveEventsAsync(client, 2);
        var stream = await _redis.CommandAsync("XRANGE", $"{_prefix}:{{{G}}}:stream", "-", "+");
        var refetch = untilRefetch.Last();

        // The stream is checked before the outbox publishes again (issue 19, item 1): the refetch comes first, at the
        // stream's position then, and the broadcast made while Redis was down follows it live.
        Assert.Multiple(() =>
        {
            Assert.That(stream, Does.Contain("1-0").And.Contain("{\"n\":1}"), "the broadcast made while Redis was down was published once it was back");
            Assert.That(untilRefetch.Where(e => e.GetProperty("event").GetString() != "refetch"), Is.Empty, "nothing before the refetch: the client subscribed while nobody knew the stream's position");
            Assert.That(later.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 1, 2 }), "then live, the one made while Redis was down first");
            Assert.That(later[0].GetProperty("seq").GetInt64(), Is.EqualTo(refetch.GetProperty("data").GetProperty("seq").GetInt64() + 1), "right after the refetch's position");
            Assert.That(server.Manager.GetHealth().Broker!.IsAvailable, Is.True);
        });
    }

    [Test]
    public async Task AWatchedGuildThatStaysQuietLongerThanHistoryMaxAge_KeepsItsStream_AndNobodyIsToldToRefetch()
    {
        _redis = await RedisServer.StartAsync();
        var server = await StartInstanceAsync(historyMaxAge: TimeSpan.FromSeconds(2));
        await using var client = await server.ConnectAuthenticatedAsync("u", [G], G);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        var first = (await RedisScaleOutTests.ReceiveEventsAsync(client, 1)).Single();

        await Task.Delay(TimeSpan.FromSeconds(4)); // twice HistoryMaxAge, four position checks, nothing published
        await server.FlushAsync();
        var quiet = await client.DrainUntilPongAsync();
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 2 });
        var next = (await RedisScaleOutTests.ReceiveEventsAsync(client, 1)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(quiet.Select(m => m.GetProperty("event").GetString()), Has.No.Member("refetch"), "a watched guild's keys do not expire under its subscribers");
            Assert.That(next.GetProperty("epoch").GetString(), Is.EqualTo(first.GetProperty("epoch").GetString()), "the same epoch");
            Assert.That(next.GetProperty("seq").GetInt64(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task RedisLosingWritesAnInstanceDelivered_StartsANewEpoch_AndItsClientsRefetch()
    {
        _redis = await RedisServer.StartAsync();
        var server = await StartInstanceAsync();
        await using var client = await server.ConnectAuthenticatedAsync("u", [G], G);
        for (var n = 1; n <= 3; n++)
        {
            server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n });
        }

        var delivered = await RedisScaleOutTests.ReceiveEventsAsync(client, 3);

        // As if Redis came back from an older snapshot: the same epoch, but the top is behind what clients have seen.
        Assert.That(await _redis.CommandAsync("HSET", MetaKey, "s", "1"), Does.StartWith(":"));
        var refetch = (await RedisScaleOutTests.ReceiveEventsAsync(client, 1, TimeSpan.FromSeconds(5))).Single();
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 4 });
        var next = (await RedisScaleOutTests.ReceiveEventsAsync(client, 1)).Single();

        Assert.Multiple(() =>
        {
            Assert.That(refetch.GetProperty("event").GetString(), Is.EqualTo("refetch"), "found by the position check");
            Assert.That(refetch.GetProperty("data").GetProperty("epoch").GetString(), Is.Not.EqualTo(delivered[^1].GetProperty("epoch").GetString()), "a new epoch: numbers already given out are not given out again");
            Assert.That(next.GetProperty("epoch").GetString(), Is.EqualTo(refetch.GetProperty("data").GetProperty("epoch").GetString()));
            Assert.That(next.GetProperty("seq").GetInt64(), Is.EqualTo(refetch.GetProperty("data").GetProperty("seq").GetInt64() + 1));
        });
    }

    [Test]
    public async Task ALostPublicationThatMayHaveBeenAPermissionChange_ReChecksTheRoom_BeforeTheRefetch()
    {
        _redis = await RedisServer.StartAsync();
        var members = new InMemoryMemberSource();
        var store = new InMemoryPermissionStore();
        members.Set(G, "1", new GuildMember([new MemberRole("mod", 1)]));
        store.Set(G, Perm.Role(G, "mod", Perm.Allow("moderation")));
        var server = await StartInstanceAsync(accessPolicy: options => new DashboardAccessPolicy(members, store, options));
        await using var client = await server.ConnectAuthenticatedAsync("1", [], G);

        // Another instance revoked the role and its dashboard:permissions_updated never reached this one (a lost
        // pub/sub message no longer in the stream): all this instance sees is a position it cannot read back.
        store.Set(G, Perm.Role(G, "mod", Perm.Deny("moderation")));
        Assert.That(await _redis.CommandAsync("HINCRBY", MetaKey, "s", "1"), Does.StartWith(":"));

        var error = await client.ExpectAsync("error", TimeSpan.FromSeconds(5));
        Assert.Multiple(() =>
        {
            Assert.That(error.GetProperty("data").GetProperty("code").GetString(), Is.EqualTo(LiveErrorCodes.Forbidden));
            Assert.That(error.GetProperty("guildId").GetString(), Is.EqualTo(G));
        });
    }

    private string MetaKey => $"{_prefix}:{{{G}}}:meta";

    private async Task AppendWithoutPublishingAsync(string data)
    {
        var seq = (await _redis!.CommandAsync("HINCRBY", MetaKey, "s", "1")).Trim().TrimStart(':');
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(await _redis.CommandAsync("XADD", $"{_prefix}:{{{G}}}:stream", $"{seq}-0", "n", LiveEvents.Moderation.RuleCreated, "d", data, "t", now, "w", now), Does.StartWith("$"));
    }

    private async Task<TestServer> StartInstanceAsync(TimeSpan? historyMaxAge = null, Func<LiveUpdatesOptions, IGuildAccessPolicy>? accessPolicy = null)
    {
        var options = new RedisBrokerOptions
        {
            Configuration = _redis!.Configuration + ",connectTimeout=1000",
            KeyPrefix = _prefix,
            OperationTimeout = TimeSpan.FromSeconds(1),
            PositionCheckInterval = TimeSpan.FromSeconds(1),
            HistoryMaxAge = historyMaxAge,
            HistoryCapacity = 100_000, // the whole run stays in the stream: each missing event's position can be looked up
        };
        var broker = new RedisBroker(options, TestServer.LoggerFactory);
        _brokers.Add(broker);
        var server = await TestServer.StartAsync(o => o.PermissionCategories["moderation"] = ["moderation.manage_config"], accessPolicy: accessPolicy, broker: broker);
        _servers.Add(server);
        return server;
    }

    private async Task<Run> StartRunAsync()
    {
        await StartInstanceAsync();
        await StartInstanceAsync();
        var clients = new List<Watcher>();
        foreach (var server in _servers)
        {
            for (var i = 0; i < 2; i++)
            {
                var client = await server.ConnectAuthenticatedAsync("u", [G]);
                var subscribed = await client.SubscribeAsync(G);
                clients.Add(new Watcher(client, subscribed.GetProperty("data").GetProperty("epoch").GetString()!));
            }
        }

        return new Run(this, clients);
    }

    /// <summary>A client and what it saw.</summary>
    private sealed class Watcher(TestClient client, string epoch)
    {
        public TestClient Client { get; } = client;

        public string Epoch { get; set; } = epoch;

        public List<JsonElement> Messages { get; } = [];
    }

    private sealed record ClientReport(int Received, int Missing, int Duplicated, int Refetches, bool InOrder, int Unsignalled);

    private sealed class Report(IReadOnlyList<ClientReport> clients, int broadcast)
    {
        public IReadOnlyList<ClientReport> Clients { get; } = clients;

        public void AssertNothingLostUnsignalled()
        {
            TestContext.Progress.WriteLine($"broadcast {broadcast} per instance; per client (received / missing / duplicated / refetches): " +
                string.Join(", ", Clients.Select(c => $"{c.Received}/{c.Missing}/{c.Duplicated}/{c.Refetches}")));
            Assert.Multiple(() =>
            {
                foreach (var (client, i) in Clients.Select((c, i) => (c, i)))
                {
                    Assert.That(client.Duplicated, Is.Zero, $"client {i}: no event twice");
                    Assert.That(client.InOrder, Is.True, $"client {i}: positions increase within each epoch");
                    Assert.That(client.Unsignalled, Is.Zero, $"client {i}: of {client.Missing} missing event(s), {client.Unsignalled} not covered by a refetch at or past their position");
                }
            });
        }
    }

    private sealed class Run(RedisFaultTests test, List<Watcher> clients)
    {
        public List<Watcher> Clients { get; } = clients;

        /// <summary>Both instances broadcast (one event every ~2 ms each, a few hundred a second) before, during and after <paramref name="fault"/>; then a marker from each, awaited by every client.</summary>
        public async Task<Report> UnderLoadAsync(Func<Task> fault)
        {
            using var stop = new CancellationTokenSource();
            var broadcasters = test._servers.Select((server, origin) => Task.Run(async () =>
            {
                var n = 0;
                while (!stop.IsCancellationRequested)
                {
                    server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { o = origin, n = n++ });
                    await Task.Delay(2);
                }

                return n;
            })).ToArray();

            await Task.Delay(300);
            await fault();
            await Task.Delay(300);
            await stop.CancelAsync();
            var counts = await Task.WhenAll(broadcasters);

            await Wait.UntilAsync(() => test._brokers.All(b => b.OutboxLength == 0), "every outbox drained", TimeSpan.FromSeconds(30));
            for (var origin = 0; origin < test._servers.Count; origin++)
            {
                test._servers[origin].Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { o = origin, n = -1, marker = true });
            }

            // Where every published event ended up: its position in the guild's stream now (events published in an
            // epoch that is gone, or replaced by a gap, are not in it).
            var database = test._brokers[0].Connection!.GetDatabase();
            var epochNow = (string?)await database.HashGetAsync(test.MetaKey, "e");
            var positions = new Dictionary<(int, int), long>();
            foreach (var entry in await database.StreamRangeAsync($"{test._prefix}:{{{G}}}:stream"))
            {
                if ((string?)entry["d"] is { Length: > 0 } json && JsonDocument.Parse(json).RootElement is { ValueKind: JsonValueKind.Object } data && data.TryGetProperty("o", out var o) && data.TryGetProperty("n", out var n))
                {
                    positions[(o.GetInt32(), n.GetInt32())] = long.Parse(entry.Id.ToString().Split('-')[0], System.Globalization.CultureInfo.InvariantCulture);
                }
            }

            var reports = new List<ClientReport>();
            foreach (var watcher in Clients)
            {
                var markers = 0;
                while (markers < test._servers.Count)
                {
                    var message = await watcher.Client.NextAsync(TimeSpan.FromSeconds(30));
                    watcher.Messages.Add(message);
                    if (message.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object && data.TryGetProperty("marker", out _))
                    {
                        markers++;
                    }
                }

                reports.Add(Analyse(watcher, counts, epochNow, positions));
            }

            Assert.That(Clients.All(c => c.Client.Socket.State == System.Net.WebSockets.WebSocketState.Open), Is.True, "every client stayed connected");
            return new Report(reports, counts.Min());
        }

        /// <summary>
        /// Counts per client; a missing event is signalled when a refetch covers it: one at or past its position in
        /// the current epoch when the stream still holds it, any refetch when it is not there (its epoch is gone, or
        /// it was replaced by a gap).
        /// </summary>
        private static ClientReport Analyse(Watcher watcher, int[] counts, string? epochNow, Dictionary<(int, int), long> positions)
        {
            var seen = new HashSet<(int, int)>();
            int received = 0, duplicated = 0, refetches = 0;
            var inOrder = true;
            var lastSeq = new Dictionary<string, long>();
            foreach (var message in watcher.Messages)
            {
                var name = message.GetProperty("event").GetString();
                if (name == "refetch")
                {
                    refetches++;
                    continue;
                }

                if (name != LiveEvents.Moderation.RuleCreated)
                {
                    continue;
                }

                var epoch = message.GetProperty("epoch").GetString()!;
                var seq = message.GetProperty("seq").GetInt64();
                inOrder &= !lastSeq.TryGetValue(epoch, out var previous) || seq > previous;
                lastSeq[epoch] = seq;
                watcher.Epoch = epoch;
                var data = message.GetProperty("data");
                var key = (data.GetProperty("o").GetInt32(), data.GetProperty("n").GetInt32());
                if (key.Item1 < 0 || key.Item2 < 0)
                {
                    continue; // the broadcasts made while Redis was down, and the markers
                }

                received++;
                if (!seen.Add(key))
                {
                    duplicated++;
                }
            }

            var refetchesNow = watcher.Messages.Where(m => m.GetProperty("event").GetString() == "refetch" && m.GetProperty("data").GetProperty("epoch").GetString() == epochNow)
                .Select(m => m.GetProperty("data").GetProperty("seq").GetInt64()).ToList();
            var missingKeys = counts.SelectMany((count, origin) => Enumerable.Range(0, count).Select(n => (origin, n))).Where(k => !seen.Contains(k)).ToList();
            var unsignalled = missingKeys.Count(k => positions.TryGetValue(k, out var at) ? !refetchesNow.Exists(seq => seq >= at) : refetches == 0);
            return new ClientReport(received, missingKeys.Count, duplicated, refetches, inOrder, unsignalled);
        }
    }
}
