using System.Net.WebSockets;
using System.Text.Json;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Integration;

/// <summary>Delivery over real loopback WebSockets: who receives what, in which order, and what happens to slow clients.</summary>
[TestFixture]
public sealed class WebSocketManagerDeliveryTests
{
    private const string GuildA = "111111111111111111";
    private const string GuildB = "222222222222222222";

    [Test]
    public async Task Broadcast_ReachesExactlyTheSubscribersOfThatGuild()
    {
        await using var server = await TestServer.StartAsync();
        await using var a1 = await server.ConnectAuthenticatedAsync("1", [GuildA, GuildB], GuildA);
        await using var a2 = await server.ConnectAuthenticatedAsync("2", [GuildA], GuildA);
        await using var b = await server.ConnectAuthenticatedAsync("3", [GuildA, GuildB], GuildB);
        await using var none = await server.ConnectAuthenticatedAsync("4", [GuildA]);
        await using var anonymous = await server.ConnectAsync();
        await anonymous.ExpectAsync("connected");

        server.Manager.Broadcast(GuildA, LiveEvents.Moderation.RuleCreated, new { RuleId = 7, Name = "no spam" });
        await server.FlushAsync();

        foreach (var subscriber in new[] { a1, a2 })
        {
            var received = await subscriber.DrainUntilPongAsync();
            Assert.That(received, Has.Count.EqualTo(1));
            var envelope = received[0];
            Assert.Multiple(() =>
            {
                Assert.That(envelope.GetProperty("event").GetString(), Is.EqualTo("moderation:rule_created"));
                Assert.That(envelope.GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
                Assert.That(envelope.GetProperty("data").GetProperty("ruleId").GetInt32(), Is.EqualTo(7), "payload is camelCase");
                Assert.That(envelope.GetProperty("data").GetProperty("name").GetString(), Is.EqualTo("no spam"));
                Assert.That(envelope.GetProperty("timestamp").GetInt64(), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()).Within(60_000));
            });
        }

        foreach (var outsider in new[] { b, none, anonymous })
        {
            Assert.That(await outsider.DrainUntilPongAsync(), Is.Empty);
        }
    }

    [Test]
    public async Task Broadcast_NullData_SendsEmptyObject()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);

        server.Manager.Broadcast(GuildA, LiveEvents.Dashboard.SettingsUpdated);

        var envelope = await client.ExpectAsync("dashboard:settings_updated");
        Assert.That(envelope.GetProperty("data").ValueKind, Is.EqualTo(JsonValueKind.Object));
        Assert.That(envelope.GetProperty("data").EnumerateObject(), Is.Empty);
    }

    [Test]
    public async Task RoomAdapter_ToGuildRoomEmit_ReachesTheGuild()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);

        server.Manager.To($"guild:{GuildA}").Emit(LiveEvents.Modmail.ConversationCreated, new { conversationId = "c1" });

        var envelope = await client.ExpectAsync("modmail:conversation_created");
        Assert.That(envelope.GetProperty("data").GetProperty("conversationId").GetString(), Is.EqualTo("c1"));
    }

    [Test]
    public async Task Unsubscribe_StopsDelivery()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        server.Manager.Broadcast(GuildA, "moderation:rule_created", new { n = 1 });
        await client.ExpectAsync("moderation:rule_created");

        await client.SendAsync(new { type = "unsubscribe", guildId = GuildA });
        var unsubscribed = await client.ExpectAsync("unsubscribed");
        server.Manager.Broadcast(GuildA, "moderation:rule_created", new { n = 2 });
        await server.FlushAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(unsubscribed.GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
            Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
            Assert.That(server.Manager.RoomCount, Is.Zero, "the emptied room is removed");
        });
    }

    [Test]
    [Repeat(3)]
    public async Task ConcurrentBroadcasts_FromSeveralThreads_KeepPerGuildOrder_AndEveryClientSeesTheSameOrder()
    {
        const int Threads = 4;
        const int PerThread = 500;
        await using var server = await TestServer.StartAsync(o => o.SendQueueCapacity = Threads * PerThread * 2);
        await using var c1 = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        await using var c2 = await server.ConnectAuthenticatedAsync("2", [GuildA], GuildA);

        using var start = new Barrier(Threads);
        var producers = Enumerable.Range(0, Threads).Select(t => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < PerThread; i++)
            {
                server.Manager.Broadcast(GuildA, "moderation:infraction_created", new { t, i });
            }
        }, TaskCreationOptions.LongRunning)).ToArray();
        await Wait.ForAsync(Task.WhenAll(producers), "producers");

        var sequences = new List<List<(int T, int I)>>();
        foreach (var client in new[] { c1, c2 })
        {
            var seen = new List<(int, int)>();
            for (var n = 0; n < Threads * PerThread; n++)
            {
                var data = (await client.ExpectAsync("moderation:infraction_created")).GetProperty("data");
                seen.Add((data.GetProperty("t").GetInt32(), data.GetProperty("i").GetInt32()));
            }

            sequences.Add(seen);
        }

        foreach (var seen in sequences)
        {
            for (var t = 0; t < Threads; t++)
            {
                var ofThread = seen.Where(e => e.T == t).Select(e => e.I).ToList();
                Assert.That(ofThread, Is.EqualTo(Enumerable.Range(0, PerThread)), $"thread {t}'s events in broadcast order, none lost");
            }
        }

        Assert.That(sequences[1], Is.EqualTo(sequences[0]), "both clients see one order");
    }

    [Test]
    public async Task StalledClient_IsDisconnectedWhenItsQueueIsFull_AndOthersGetEverythingInOrder()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.SendQueueCapacity = 32;
            o.SendQueueMaxBytes = 512 * 1024;
            o.SendTimeout = TimeSpan.FromMinutes(5); // isolate the queue bound from the send timeout
            o.CloseTimeout = TimeSpan.FromMilliseconds(300); // it will not read the close frame either
        });
        await using var healthy = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);

        // The stalled client subscribes, then never reads again: its TCP window and then its queue fill up.
        var stalled = await TestClient.ConnectAsync(server.Uri, startReading: false);
        await stalled.SendAsync(new { type = "auth", token = TestTokens.Create("2", [GuildA]) });
        await stalled.SendAsync(new { type = "subscribe", guildId = GuildA });
        await Wait.UntilAsync(() => server.Manager.Connections.Any(c => c.SubscriptionCount == 1 && c.User?.UserId == "2"), "stalled client subscribed");
        var stalledConnection = server.Manager.Connections.Single(c => c.User?.UserId == "2");

        var payload = new string('x', 32 * 1024);
        var sent = 0;
        var received = 0;
        const int MaxEvents = 4000; // 128 MiB: far beyond any loopback socket buffer
        while (!stalledConnection.IsClosing && sent < MaxEvents)
        {
            // Bursts stay well inside the byte bound, so only the client that never reads falls behind.
            for (var i = 0; i < 4; i++, sent++)
            {
                server.Manager.Broadcast(GuildA, "moderation:infraction_created", new { seq = sent, payload });
            }

            // Keep the healthy client reading at its own pace, checking order as it goes.
            while (received < sent)
            {
                var data = (await healthy.ExpectAsync("moderation:infraction_created")).GetProperty("data");
                Assert.That(data.GetProperty("seq").GetInt32(), Is.EqualTo(received));
                received++;
            }
        }

        Assert.That(stalledConnection.IsClosing, Is.True, $"the stalled client is being disconnected (after {sent} events)");
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 1, "the stalled client is gone (it does not answer the close, so it is aborted)");
        Assert.That(healthy.Socket.State, Is.EqualTo(WebSocketState.Open));

        server.Manager.Broadcast(GuildA, "moderation:infraction_created", new { seq = sent, payload = "" });
        var last = await healthy.ExpectAsync("moderation:infraction_created");
        Assert.That(last.GetProperty("data").GetProperty("seq").GetInt32(), Is.EqualTo(sent));
        stalled.Socket.Abort();
        await stalled.DisposeAsync();
    }

    [Test]
    public async Task TokenExpiry_WhileConnected_SendsTokenExpired_AndStopsEvents_UntilAFreshAuth()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.ClockSkew = TimeSpan.Zero;
                o.IdleTimeout = Timeout.InfiniteTimeSpan; // the fake clock jumps minutes ahead; only expiry is under test
            },
            timeProvider: clock);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA], now: clock.GetUtcNow(), lifetime: TimeSpan.FromMinutes(5)));
        await client.SubscribeAsync(GuildA);

        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(2));

        await client.ExpectErrorAsync(LiveErrorCodes.TokenExpired);
        server.Manager.Broadcast(GuildA, "moderation:rule_created");
        await server.FlushAsync();
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty, "no events after expiry");

        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA], now: clock.GetUtcNow(), lifetime: TimeSpan.FromMinutes(5)));
        await client.SubscribeAsync(GuildA);
        server.Manager.Broadcast(GuildA, "moderation:rule_created");
        await client.ExpectAsync("moderation:rule_created");
    }
}
