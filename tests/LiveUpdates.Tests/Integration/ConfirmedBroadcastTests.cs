using LiveUpdates.Brokers;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// The awaitable broadcast (<see cref="IBroadcaster.BroadcastAsync(string, string, object?, CancellationToken)"/>, the
/// room emitter's <c>EmitAsync</c>, the facade's <c>ToGuildAsync</c>): it completes with the position the clients see,
/// and fails — rather than completing — whenever the event got no position.
/// </summary>
[TestFixture]
public sealed class ConfirmedBroadcastTests
{
    private const string Guild = "111111111111111111";
    private const string Event = LiveEvents.Moderation.RuleCreated;

    [Test]
    public async Task BroadcastAsync_CompletesWithThePositionTheClientsReceive_InOrderWithFireAndForgetBroadcasts()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);

        server.Manager.Broadcast(Guild, Event, new { n = 0 });
        var confirmed = await Wait.ForAsync(server.Manager.BroadcastAsync(Guild, Event, new { n = 1 }), "the confirmed broadcast");
        var emitted = await Wait.ForAsync(server.Manager.To(ulong.Parse(Guild, System.Globalization.CultureInfo.InvariantCulture)).EmitAsync(Event, new { n = 2 }), "the confirmed emit");

        var first = await client.ExpectAsync(Event);
        var second = await client.ExpectAsync(Event);
        var third = await client.ExpectAsync(Event);
        Assert.Multiple(() =>
        {
            Assert.That(second.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(1));
            Assert.That(confirmed.Seq, Is.EqualTo(second.GetProperty("seq").GetInt64()));
            Assert.That(confirmed.Epoch, Is.EqualTo(second.GetProperty("epoch").GetString()));
            Assert.That(confirmed.Seq, Is.EqualTo(first.GetProperty("seq").GetInt64() + 1), "numbered after the fire-and-forget broadcast made before it");
            Assert.That(emitted.Seq, Is.EqualTo(third.GetProperty("seq").GetInt64()));
        });
    }

    [Test]
    public async Task BroadcastAsync_OnAFullDispatchQueue_Fails_AndTheGuildsSubscribersRefetch()
    {
        var broker = new StallingBroker();
        await using var server = await TestServer.StartAsync(o => o.DispatchQueueCapacity = 4, broker: broker);
        await using var client = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);

        broker.Stall();
        server.Manager.Broadcast(Guild, Event);
        await Wait.ForAsync(broker.Stalled, "the publish holds the loop");
        var accepted = new List<Task<StreamPosition>>();
        Task<StreamPosition> refused;
        while (true)
        {
            var confirming = server.Manager.BroadcastAsync(Guild, Event);
            if (confirming.IsFaulted)
            {
                refused = confirming;
                break;
            }

            accepted.Add(confirming);
            Assert.That(accepted, Has.Count.LessThan(100), "the queue never filled");
        }

        broker.Release();
        var error = Assert.ThrowsAsync<InvalidOperationException>(async () => await refused);
        Assert.That(error!.Message, Does.Contain("DispatchQueueCapacity"));
        foreach (var confirming in accepted)
        {
            await Wait.ForAsync(confirming, "a broadcast that found room is confirmed");
        }

        var received = new List<string>();
        while (!received.Contains("refetch"))
        {
            received.Add((await client.NextAsync()).GetProperty("event").GetString()!);
        }

        Assert.That(received.Count(e => e == Event), Is.EqualTo(accepted.Count + 1), "the stalled broadcast and every confirmed one, then the gap's refetch");
    }

    [Test]
    public async Task BroadcastAsync_BeforeStartOrAfterStop_Fails_WhileBroadcastDoesNothing()
    {
        var server = await TestServer.StartAsync();
        await server.DisposeAsync();

        server.Manager.Broadcast(Guild, Event);
        Assert.ThrowsAsync<InvalidOperationException>(async () => await server.Manager.BroadcastAsync(Guild, Event));
        Assert.Throws<ArgumentException>(() => _ = server.Manager.BroadcastAsync("not-a-guild", Event), "malformed arguments still throw at once");
    }

    [Test]
    public void TheFacadesToGuildAsync_WithNoBroadcasterSet_Fails_ButStillRejectsMalformedArguments()
    {
        Assume.That(Broadcast.Current, Is.Null, "another test's server holds the facade");
        Assert.ThrowsAsync<InvalidOperationException>(async () => await Broadcast.ToGuildAsync(Guild, Event));
        Assert.Throws<ArgumentException>(() => _ = Broadcast.ToGuildAsync(Guild, "NotAnEvent"));
    }
}
