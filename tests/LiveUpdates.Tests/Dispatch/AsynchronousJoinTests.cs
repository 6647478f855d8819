using System.Text.Json;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;
using LiveUpdates.Security;
using LiveUpdates.Tests.Brokers;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Dispatch;

/// <summary>
/// The dispatcher's asynchronous join path — a broker that answers later and delivers from its own threads — driven by
/// the scripted broker, with no Redis: a held subscribe holds only its own client, what goes out while a join waits is
/// merged into its replay exactly once, permission changes and losses meanwhile reach it, a failed subscribe is
/// answered and retried, and deliveries released in another order of guilds keep each guild's order.
/// </summary>
[TestFixture]
public sealed class AsynchronousJoinTests
{
    private const string G1 = "111111111111111111";
    private const string G2 = "222222222222222222";
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(5);

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
    public async Task AHeldBrokerSubscribe_HoldsOnlyItsOwnClient_OtherGuildsKeepFlowing()
    {
        await StartAsync();
        var watcher = await _server.ConnectAuthenticatedAsync("a", [G1, G2], G1);
        _broker.HoldSubscribes(G2);
        var joining = await _server.ConnectAuthenticatedAsync("b", [G1, G2]);
        await joining.SendAsync(new { type = "subscribe", guildId = G2 });
        await Wait.UntilAsync(() => _broker.Calls.Subscribes == 2, "the broker asked for G2");

        _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short);
        Assert.That(joining.TryTakeBuffered(out var early), Is.False, $"G2's subscription still waits for the broker, yet got {early}");

        _broker.ReleaseSubscribes(G2);
        await joining.ExpectAsync("subscribed", Short);
        _server.Manager.Broadcast(G2, LiveEvents.Moderation.RuleCreated, new { n = 2 });
        var live = await joining.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short);
        Assert.That(live.GetProperty("guildId").GetString(), Is.EqualTo(G2));
    }

    [Test]
    public async Task EventsFannedOutWhileAJoinWaits_ReachTheJoiningClient_ExactlyOnce_InOrder()
    {
        await StartAsync();
        var watcher = await _server.ConnectAuthenticatedAsync("a", [G1], G1);
        var first = new List<JsonElement>();
        for (var n = 0; n < 3; n++)
        {
            _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n });
            first.Add(await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short));
        }

        var (seq0, epoch) = PositionOf(first[0]);
        _broker.HoldAnswers(G1);
        var joining = await _server.ConnectAuthenticatedAsync("b", [G1]);
        await joining.SendAsync(new { type = "subscribe", guildId = G1, lastSeq = seq0 - 1, epoch });
        await Wait.ForAsync(_broker.AnswerHeld, "the joining client's history read answered (and held)");

        // Published and fanned out after the answered position, while the answer is on its way.
        for (var n = 3; n < 5; n++)
        {
            _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n });
            await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short);
        }

        _broker.ReleaseAnswers(G1);
        var subscribed = await joining.ExpectAsync("subscribed", Short);
        Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
        var received = await joining.DrainUntilPongAsync(Short);

        Assert.Multiple(() =>
        {
            Assert.That(received.Select(e => e.GetProperty("event").GetString()), Is.All.EqualTo(LiveEvents.Moderation.RuleCreated));
            Assert.That(received.Select(e => PositionOf(e).Seq), Is.EqualTo(Enumerable.Range(0, 5).Select(k => seq0 + k)), "the replay and what went out meanwhile, each once, in order");
            Assert.That(received.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
        });
    }

    [Test]
    public async Task EventsFannedOutWhileAJoinWaits_AtOrBeforeItsAnsweredPosition_AreNotSentTwice()
    {
        await StartAsync();
        var start = (await _broker.ReadSinceAsync(G1, null, CancellationToken.None)).Current;
        _broker.HoldSubscribes(G1);
        var joining = await _server.ConnectAuthenticatedAsync("b", [G1]);
        await joining.SendAsync(new { type = "subscribe", guildId = G1, lastSeq = start.Seq, epoch = start.Epoch });
        await Wait.UntilAsync(() => _broker.Calls.Subscribes == 1, "the broker asked for G1");

        // Delivered and fanned out (to nobody yet) while the join waits; the history read that follows covers them.
        for (var n = 0; n < 3; n++)
        {
            _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n });
        }

        await Wait.UntilAsync(() => _broker.DeliveredUpTo(G1) == start.Seq + 3, "three publications handed to the server");
        await _server.FlushAsync();
        _broker.ReleaseSubscribes(G1);

        var subscribed = await joining.ExpectAsync("subscribed", Short);
        var received = await joining.DrainUntilPongAsync(Short);
        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("data").GetProperty("seq").GetInt64(), Is.EqualTo(start.Seq + 3));
            Assert.That(received.Select(e => PositionOf(e).Seq), Is.EqualTo(new[] { start.Seq + 1, start.Seq + 2, start.Seq + 3 }), "replayed from the history, once each");
        });
    }

    [Test]
    public async Task APermissionChangeWhileAJoinWaits_IsCheckedBeforeTheClientJoins()
    {
        var policy = new SwitchableAccessPolicy();
        policy.Set("b", G1, allowed: true);
        await StartAsync(policy);
        _broker.HoldAnswers(G1);
        var joining = await _server.ConnectAuthenticatedAsync("b", [G1]);
        await joining.SendAsync(new { type = "subscribe", guildId = G1 });
        await Wait.ForAsync(_broker.AnswerHeld, "the subscription's history read answered (and held)");

        policy.Set("b", G1, allowed: false);
        await Wait.ForAsync(_server.Manager.InvalidateGuildAccessAsync(G1), "the guild's access re-checked");
        _broker.ReleaseAnswers(G1);

        await joining.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await _server.FlushAsync();
        Assert.That(await joining.DrainUntilPongAsync(Short), Is.Empty, "the revoked client never joined the room");
    }

    [Test]
    public async Task AFailedBrokerSubscribe_AnswersTheClient_IsBalanced_AndTheNextSubscribeAsksTheBrokerAgain()
    {
        await StartAsync();
        _broker.FailNextSubscribe(G1, new InvalidOperationException("the broker's server is unreachable (scripted)"));
        var client = await _server.ConnectAuthenticatedAsync("b", [G1]);

        await client.SendAsync(new { type = "subscribe", guildId = G1 });
        await client.ExpectErrorAsync(LiveErrorCodes.InternalError);
        await Wait.UntilAsync(() => _broker.SubscriptionsOf(G1) == 0, "the failed subscription balanced in the broker's count");

        await client.SubscribeAsync(G1);
        Assert.That(_broker.Calls.Subscribes, Is.EqualTo(2), "the second subscribe asked the broker again");
        _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await client.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short);
    }

    [Test]
    public async Task AStreamLostWhileAJoinWaits_ReachesTheJoiningClient_AfterItsReplay()
    {
        await StartAsync();
        var watcher = await _server.ConnectAuthenticatedAsync("a", [G1], G1);
        _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 0 });
        var (seq0, epoch) = PositionOf(await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short));
        _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short);

        _broker.HoldAnswers(G1);
        var joining = await _server.ConnectAuthenticatedAsync("b", [G1]);
        await joining.SendAsync(new { type = "subscribe", guildId = G1, lastSeq = seq0, epoch });
        await Wait.ForAsync(_broker.AnswerHeld, "the joining client's history read answered (and held)");
        await _broker.SignalLostAsync(G1, new StreamPosition(seq0 + 2, epoch));
        var refetch = await watcher.ExpectAsync("refetch", Short);

        _broker.ReleaseAnswers(G1);
        await joining.ExpectAsync("subscribed", Short);
        var received = await joining.DrainUntilPongAsync(Short);

        Assert.That(received.Select(e => e.GetProperty("event").GetString()), Is.EqualTo(new[] { LiveEvents.Moderation.RuleCreated, "refetch" }),
            "the replayed event, then the loss signalled while the join waited");
        Assert.That(received[1].GetRawText(), Is.EqualTo(refetch.GetRawText()));
    }

    [Test]
    public async Task DeliveriesFromTheBrokersThread_ReleasedGuildsInReverse_KeepEachGuildsOrder_ExactlyOnce()
    {
        const int PerGuild = 20;
        await StartAsync();
        var client = await _server.ConnectAuthenticatedAsync("c", [G1, G2], G1, G2);
        _broker.HoldDeliveries();
        for (var n = 0; n < PerGuild; n++)
        {
            _server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { n });
            _server.Manager.Broadcast(G2, LiveEvents.Moderation.RuleCreated, new { n });
        }

        await _server.FlushAsync();
        Assert.That(client.TryTakeBuffered(out var early), Is.False, $"held by the broker, yet the client got {early}");
        _broker.ReleaseDeliveries(reverseGuilds: true);

        var received = new List<JsonElement>();
        for (var i = 0; i < 2 * PerGuild; i++)
        {
            received.Add(await client.ExpectAsync(LiveEvents.Moderation.RuleCreated, Short));
        }

        Assert.That(received[0].GetProperty("guildId").GetString(), Is.EqualTo(G2), "the broker delivered G2 first");
        foreach (var guild in new[] { G1, G2 })
        {
            Assert.That(received.Where(e => e.GetProperty("guildId").GetString() == guild).Select(e => e.GetProperty("data").GetProperty("n").GetInt32()),
                Is.EqualTo(Enumerable.Range(0, PerGuild)), $"{guild}: every event once, in order");
        }
    }

    private static (long Seq, string Epoch) PositionOf(JsonElement message) =>
        (message.GetProperty("seq").GetInt64(), message.GetProperty("epoch").GetString()!);

    private async Task StartAsync(IGuildAccessPolicy? policy = null)
    {
        _broker = new ScriptedBroker(new InMemoryBroker(256, TimeSpan.FromMinutes(5), TimeProvider.System));
        _server = await TestServer.StartAsync(accessPolicy: policy is null ? null : _ => policy, broker: _broker);
    }
}
