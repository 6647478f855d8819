using System.Diagnostics;
using LiveUpdates.Internal.Brokers;
using LiveUpdates.Tests.Brokers;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Dispatch;

/// <summary>
/// Room re-checks (after a lost stream, a gap, a permission change) hold only their own guild: a refetch storm — every
/// watched guild losing its epoch at once, as after a Redis restart without persistence — with a slow permission store
/// does not stall the delivery of other guilds, and a held guild still gets its refetch before anything later.
/// Driven by the scripted broker (deliveries and losses from the broker's own threads, as Redis makes them).
/// </summary>
[TestFixture]
public sealed class RoomRecheckTests
{
    private const string Quiet = "100000000000000000";
    private const int LostGuilds = 200;
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private ScriptedBroker _broker = null!;
    private TestServer _server = null!;

    [TearDown]
    public async Task StopServer()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    [Test]
    public async Task EveryWatchedGuildLosingItsEpochAtOnce_WithASlowPermissionStore_DoesNotStallAnotherGuildsDelivery()
    {
        var lost = Enumerable.Range(1, LostGuilds).Select(i => (300_000_000_000_000_000L + i).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var policy = new SlowAccessPolicy([Quiet, .. lost]);
        await StartAsync(policy);
        var watcher = await _server.ConnectAuthenticatedAsync("w", [Quiet], Quiet);
        var storm = await _server.ConnectAuthenticatedAsync("s", lost, lost);

        policy.Delay = TimeSpan.FromMilliseconds(50);
        await Task.WhenAll(lost.Select(async guild =>
        {
            var current = (await _broker.ReadSinceAsync(guild, null, CancellationToken.None)).Current;
            await _broker.SignalLostAsync(guild, current); // from the broker's thread, as the Redis feeds signal an epoch change
        }));

        var clock = Stopwatch.StartNew();
        _server.Manager.Broadcast(Quiet, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        var received = await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, Long);
        var took = clock.Elapsed;

        Assert.That(received.GetProperty("guildId").GetString(), Is.EqualTo(Quiet));
        Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(1)),
            $"the quiet guild's event waited {took.TotalMilliseconds:F0} ms behind {LostGuilds} guilds' re-checks (50 ms per permission read)");

        // Every lost guild still tells its subscriber to refetch, once, after its re-check.
        var refetches = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < LostGuilds; i++)
        {
            var message = await storm.ExpectAsync("refetch", Long);
            Assert.That(refetches.Add(message.GetProperty("guildId").GetString()!), Is.True, $"a second refetch: {message}");
        }

        Assert.That(refetches, Is.EquivalentTo(lost));
    }

    [Test]
    public async Task AGuildHeldByItsRecheck_GetsItsRefetchBeforeItsLaterEvents_WhileOtherGuildsFlow()
    {
        const string Held = "200000000000000000";
        var policy = new SlowAccessPolicy([Quiet, Held]);
        await StartAsync(policy);
        var client = await _server.ConnectAuthenticatedAsync("c", [Quiet, Held], Quiet, Held);
        var current = (await _broker.ReadSinceAsync(Held, null, CancellationToken.None)).Current;

        policy.Hold(Held);
        await _broker.SignalLostAsync(Held, current);
        _server.Manager.Broadcast(Held, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        _server.Manager.Broadcast(Held, LiveEvents.Moderation.RuleCreated, new { n = 2 });
        _server.Manager.Broadcast(Quiet, LiveEvents.Moderation.RuleCreated, new { n = 3 });

        var first = await client.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short);
        Assert.That(first.GetProperty("guildId").GetString(), Is.EqualTo(Quiet), "the other guild's event went out while the held guild's re-check waits");
        var flushed = _server.FlushAsync();
        Assert.That(flushed.IsCompleted, Is.False, "a flush waits for what the held guild keeps");

        policy.Release(Held);
        await Wait.ForAsync(flushed, "the flush, once the held guild went out");
        var received = await client.DrainUntilPongAsync(Short);
        Assert.Multiple(() =>
        {
            Assert.That(received.Select(e => e.GetProperty("event").GetString()), Is.EqualTo(new[] { "refetch", LiveEvents.Moderation.RuleCreated, LiveEvents.Moderation.RuleCreated }));
            Assert.That(received.Select(e => e.GetProperty("guildId").GetString()), Is.All.EqualTo(Held));
            Assert.That(received.Skip(1).Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 1, 2 }), "in order, after the refetch");
        });
    }

    private async Task StartAsync(SlowAccessPolicy policy)
    {
        _broker = new ScriptedBroker(new InMemoryBroker(256, TimeSpan.FromMinutes(5), TimeProvider.System));
        _server = await TestServer.StartAsync(o =>
        {
            o.MaxGuildsPerClient = LostGuilds + 10;
            o.MaxSubscriptionChangesPerSecond = 10 * LostGuilds;
        }, accessPolicy: _ => policy, broker: _broker);
    }
}
