using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using static LiveUpdates.Tests.Infrastructure.Perm;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Several <see cref="WebSocketManager"/> instances in one process, each on its own port, sharing one real redis-server
/// through the Redis broker: every client gets every event of its guilds exactly once and in order, moves between
/// instances with exact recovery, and permission changes reach every instance.
/// </summary>
[TestFixture]
public sealed class RedisScaleOutTests
{
    internal const string G1 = "111111111111111111";
    internal const string G2 = "222222222222222222";

    private RedisServer _redis = null!;
    private readonly List<TestServer> _servers = [];
    private string _prefix = string.Empty;

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    [SetUp]
    public void NewPrefix() => _prefix = "scale-" + Guid.NewGuid().ToString("N");

    [TearDown]
    public async Task StopServers()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    [TestCase(2)]
    [TestCase(3)]
    public async Task ClientsOnEveryInstance_GetEveryEventOfTheirGuilds_ExactlyOnce_InOrder_WhileEveryInstanceBroadcasts(int instances)
    {
        const int PerInstance = 150;
        for (var i = 0; i < instances; i++)
        {
            await StartInstanceAsync();
        }

        // Per instance: two clients of G1, one of G2, one of both.
        var clients = new List<(TestClient Client, string[] Guilds)>();
        foreach (var server in _servers)
        {
            foreach (var guilds in new[] { new[] { G1 }, [G1], [G2], [G1, G2] })
            {
                clients.Add((await server.ConnectAuthenticatedAsync("u", [G1, G2], guilds), guilds));
            }
        }

        await Task.WhenAll(_servers.Select((server, origin) => Task.Run(() =>
        {
            for (var n = 0; n < PerInstance; n++)
            {
                server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { o = origin, n });
                server.Manager.Broadcast(G2, LiveEvents.Moderation.RuleCreated, new { o = origin, n });
            }
        })));

        foreach (var (client, guilds) in clients)
        {
            var received = await ReceiveEventsAsync(client, guilds.Length * instances * PerInstance);
            foreach (var guild in guilds)
            {
                var events = received.Where(e => e.GetProperty("guildId").GetString() == guild).ToList();
                var seqs = events.Select(e => e.GetProperty("seq").GetInt64()).ToList();
                Assert.Multiple(() =>
                {
                    Assert.That(events, Has.Count.EqualTo(instances * PerInstance), $"{guild}: every event of every instance");
                    Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, seqs.Count).Select(k => (long)k)), $"{guild}: each position once, in stream order");
                    Assert.That(events.Select(e => e.GetProperty("epoch").GetString()).Distinct().Count(), Is.EqualTo(1), $"{guild}: one epoch");
                    for (var origin = 0; origin < instances; origin++)
                    {
                        var ns = events.Where(e => e.GetProperty("data").GetProperty("o").GetInt32() == origin).Select(e => e.GetProperty("data").GetProperty("n").GetInt32());
                        Assert.That(ns, Is.EqualTo(Enumerable.Range(0, PerInstance)), $"{guild}: instance {origin}'s events once each, in the order it broadcast them");
                    }
                });
            }

            Assert.That(received.Where(e => e.GetProperty("event").GetString() == "refetch"), Is.Empty, "no refetch: nothing was lost");
            await client.DisposeAsync();
        }
    }

    [Test]
    public async Task AClientMovesFromOneInstanceToAnother_WithItsLastSeq_AndRecoversExactly_FromRedis()
    {
        var a = await StartInstanceAsync();
        var b = await StartInstanceAsync();
        var client = await a.ConnectAuthenticatedAsync("u", [G1], G1);
        for (var n = 0; n < 5; n++)
        {
            a.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n });
        }

        var seen = await ReceiveEventsAsync(client, 5);
        var last = seen[^1];
        await client.DisposeAsync();

        for (var n = 5; n < 12; n++)
        {
            (n % 2 == 0 ? a : b).Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n });
        }

        await a.FlushAsync();
        await b.FlushAsync();
        await WaitForStreamTopAsync(a, G1, 12);

        await using var moved = await b.ConnectAsync();
        await moved.ExpectAsync("connected");
        await moved.AuthenticateAsync(TestTokens.Create("u", [G1]));
        var subscribed = await moved.SubscribeAsync(G1, last.GetProperty("seq").GetInt64(), last.GetProperty("epoch").GetString()!);
        var replayed = await ReceiveEventsAsync(moved, 7);
        b.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 12 });
        var live = await ReceiveEventsAsync(moved, 1);

        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
            Assert.That(replayed.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EquivalentTo(Enumerable.Range(5, 7)), "everything it missed, from Redis (two instances: their relative order is Redis's)");
            Assert.That(replayed.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range(6, 7).Select(k => (long)k)));
            Assert.That(live.Single().GetProperty("seq").GetInt64(), Is.EqualTo(13), "then live, with no gap and no repeat");
        });
    }

    [Test]
    public async Task ASubscriptionWhileAnotherInstanceBroadcasts_HasNoGapAndNoRepeatAtTheSeam()
    {
        var a = await StartInstanceAsync();
        var b = await StartInstanceAsync();
        using var stop = new CancellationTokenSource();
        var broadcaster = Task.Run(async () =>
        {
            var n = 0;
            while (!stop.IsCancellationRequested)
            {
                a.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = n++ });
                if (n % 20 == 0)
                {
                    await Task.Delay(1);
                }
            }

            return n;
        });

        // Clients subscribe on B (whose guild subscription is new, then shared) while A publishes without pause.
        var clients = new List<(TestClient Client, long Seq)>();
        for (var i = 0; i < 8; i++)
        {
            var client = await b.ConnectAuthenticatedAsync("u", [G1]);
            var subscribed = await client.SubscribeAsync(G1);
            clients.Add((client, subscribed.GetProperty("data").GetProperty("seq").GetInt64()));
        }

        await stop.CancelAsync();
        var total = await broadcaster;
        await a.FlushAsync();
        foreach (var (client, from) in clients)
        {
            var events = await ReceiveEventsAsync(client, (int)(total - from));
            Assert.That(events.Select(e => e.GetProperty("seq").GetInt64()), Is.EqualTo(Enumerable.Range((int)from + 1, (int)(total - from)).Select(k => (long)k)),
                $"subscribed at seq {from}: every later event once, in order");
            await client.DisposeAsync();
        }
    }

    [Test]
    public async Task APermissionRevocationOnOneInstance_EndsTheSubscriptionsOnAnother_InStreamOrder()
    {
        var members = new InMemoryMemberSource();
        var store = new InMemoryPermissionStore();
        members.Set(G1, "1", new GuildMember([new MemberRole("mod", 1)]));
        store.Set(G1, Role(G1, "mod", Allow("moderation")));
        var a = await StartInstanceAsync(options => new DashboardAccessPolicy(members, store, options), Categories);
        var b = await StartInstanceAsync(options => new DashboardAccessPolicy(members, store, options), Categories);
        await using var onB = await b.ConnectAuthenticatedAsync("1", [], G1);

        a.Manager.Broadcast(G1, LiveEvents.Tags.TagCreated, new { n = 1 });
        Assert.That((await onB.ExpectAsync("tags:tag_created")).GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(1));

        store.Set(G1, Role(G1, "mod", Deny("moderation")));
        await a.Manager.InvalidateGuildAccessAsync(G1);
        a.Manager.Broadcast(G1, LiveEvents.Tags.TagCreated, new { n = 2 });

        var announcement = await onB.NextAsync();
        var error = announcement.GetProperty("event").GetString() == "error" ? announcement : await onB.ExpectAsync("error");
        Assert.Multiple(() =>
        {
            Assert.That(error.GetProperty("data").GetProperty("code").GetString(), Is.EqualTo(LiveErrorCodes.Forbidden));
            Assert.That(error.GetProperty("guildId").GetString(), Is.EqualTo(G1));
        });
        await b.FlushAsync();
        Assert.That((await onB.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()), Has.No.Member("tags:tag_created"),
            "the event broadcast after the revocation does not reach B's socket");
    }

    private static void Categories(LiveUpdatesOptions options)
    {
        options.PermissionCategories["moderation"] = ["moderation.manage_config"];
        options.DeliverUncategorizedEventsToEveryone = true; // tags:* (no category) is what the moderator watches here
    }

    [Test]
    public async Task AMemberRemovedOnOneInstance_IsRefusedOnAnother_WithinASecond_AndGetsNothingBroadcastAfterTheCall()
    {
        var policy = new SwitchableAccessPolicy();
        policy.Set("mod", G1, allowed: true);
        policy.Set("other", G1, allowed: true);
        var a = await StartInstanceAsync(_ => policy);
        var b = await StartInstanceAsync(_ => policy);
        await using var moderator = await b.ConnectAuthenticatedAsync("mod", [G1], G1);
        await using var other = await b.ConnectAuthenticatedAsync("other", [G1], G1);
        var otherChecks = policy.ChecksOf("other");

        policy.Set("mod", G1, allowed: false);
        var started = DateTime.UtcNow;
        await a.Manager.InvalidateMemberAccessAsync(G1, "mod");
        a.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 1 });

        var refused = await moderator.ExpectAsync("error");
        var elapsed = DateTime.UtcNow - started;
        var received = await ReceiveEventsAsync(other, 2); // the member change (delivered to dashboards), then the event
        await b.FlushAsync();
        var afterwards = await moderator.DrainUntilPongAsync();
        Assert.Multiple(() =>
        {
            Assert.That(refused.GetProperty("data").GetProperty("code").GetString(), Is.EqualTo(LiveErrorCodes.Forbidden));
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "refused on the other instance within a second");
            Assert.That(afterwards.Where(e => e.GetProperty("event").GetString() == LiveEvents.Moderation.RuleCreated), Is.Empty, "nothing broadcast after the call");
            Assert.That(received.Select(e => e.GetProperty("event").GetString()), Is.EqualTo(new[] { LiveEvents.Dashboard.MemberAccessUpdated, LiveEvents.Moderation.RuleCreated }));
            Assert.That(policy.ChecksOf("other"), Is.EqualTo(otherChecks), "only the named member was re-checked");
        });
    }

    private async Task<TestServer> StartInstanceAsync(Func<LiveUpdatesOptions, IGuildAccessPolicy>? accessPolicy = null, Action<LiveUpdatesOptions>? configure = null)
    {
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = _prefix });
        var server = await TestServer.StartAsync(configure, accessPolicy: accessPolicy, broker: broker);
        _servers.Add(server);
        return server;
    }

    /// <summary>Waits until the guild's stream in Redis has <paramref name="top"/> publications (another instance's broadcasts are published).</summary>
    private async Task WaitForStreamTopAsync(TestServer server, string guildId, long top)
    {
        await server.FlushAsync();
        var deadline = DateTime.UtcNow + Wait.Default;
        while (!(await _redis.CommandAsync("HGET", $"{_prefix}:{{{guildId}}}:meta", "s")).Contains($"\r\n{top}\r\n", StringComparison.Ordinal))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"seq {top} of guild {guildId} was not published in time");
            await Task.Delay(20);
        }
    }

    /// <summary>Reads until <paramref name="count"/> events (and refetch signals) have arrived, skipping other messages.</summary>
    internal static async Task<List<JsonElement>> ReceiveEventsAsync(TestClient client, int count, TimeSpan? timeout = null)
    {
        var events = new List<JsonElement>();
        while (events.Count < count)
        {
            var message = await client.NextAsync(timeout ?? TimeSpan.FromSeconds(20));
            var name = message.GetProperty("event").GetString();
            if (name == "refetch" || (message.TryGetProperty("seq", out _) && name is not ("subscribed" or "error")))
            {
                events.Add(message);
            }
        }

        return events;
    }
}
