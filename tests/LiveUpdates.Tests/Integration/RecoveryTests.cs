using System.Net.WebSockets;
using System.Text.Json;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Integration;

/// <summary>Sequence numbers, epochs and recovery of missed events over real loopback WebSockets.</summary>
[TestFixture]
public sealed class RecoveryTests
{
    private const string GuildA = "111111111111111111";
    private const string GuildB = "222222222222222222";
    private const string Event = "moderation:infraction_created";

    [Test]
    public async Task Events_CarryAPerGuildSeqAndTheServersEpoch_AndSubscribedReportsThePosition()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA, GuildB]);
        var subscribedA = await client.SubscribeAsync(GuildA);
        var subscribedB = await client.SubscribeAsync(GuildB);

        server.Manager.Broadcast(GuildA, Event);
        server.Manager.Broadcast(GuildA, Event);
        server.Manager.Broadcast(GuildB, Event);
        var events = new[] { await client.ExpectAsync(Event), await client.ExpectAsync(Event), await client.ExpectAsync(Event) };

        var epoch = subscribedA.GetProperty("data").GetProperty("epoch").GetString();
        Assert.Multiple(() =>
        {
            Assert.That(epoch, Is.Not.Empty);
            Assert.That(subscribedA.GetProperty("data").GetProperty("seq").GetInt64(), Is.Zero);
            Assert.That(subscribedA.GetProperty("data").TryGetProperty("recovered", out _), Is.False, "only a recovery request gets 'recovered'");
            Assert.That(subscribedB.GetProperty("data").GetProperty("epoch").GetString(), Is.EqualTo(epoch));
            Assert.That(events.Select(e => (e.GetProperty("guildId").GetString(), e.GetProperty("seq").GetInt64())),
                Is.EqualTo(new[] { (GuildA, 1L), (GuildA, 2L), (GuildB, 1L) }));
            Assert.That(events.Select(e => e.GetProperty("epoch").GetString()), Is.All.EqualTo(epoch));
        });
    }

    [Test]
    public async Task Reconnect_WithLastSeq_GetsExactlyTheMissedEventsInOrder_ThenLiveOnes_UnderConcurrentBroadcasting()
    {
        const int Rounds = 15;
        const int Producers = 3;
        await using var server = await TestServer.StartAsync(o =>
        {
            o.HistoryCapacity = 100_000;
            o.SendQueueCapacity = 100_000;
            o.SendQueueMaxBytes = 64 * 1024 * 1024;
        });
        var random = new Random(20261126);
        long expectedLast = 0;
        for (var round = 0; round < Rounds; round++)
        {
            using var stop = new CancellationTokenSource();
            var producers = Enumerable.Range(0, Producers).Select(p => Task.Run(async () =>
            {
                var i = 0;
                while (!stop.IsCancellationRequested)
                {
                    server.Manager.Broadcast(GuildA, Event, new { p, i = i++ });
                    if (i % 8 == 0)
                    {
                        // Steady, not a flood: a flood is the slow-consumer case, tested on its own.
                        await Task.Delay(1);
                    }
                }
            })).ToArray();

            // First life: subscribe (recovering from the previous round's end), read a random number of events, vanish.
            var first = await server.ConnectAuthenticatedAsync("1", [GuildA]);
            var subscribed = round == 0
                ? await first.SubscribeAsync(GuildA)
                : await first.SubscribeAsync(GuildA, expectedLast, server.Manager.Epoch);
            Assert.That(round == 0 || subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True, $"round {round}: recovery within history");
            var seen = new List<long>();
            var take = random.Next(1, 200);
            for (var n = 0; n < take; n++)
            {
                seen.Add((await first.ExpectAsync(Event)).GetProperty("seq").GetInt64());
            }

            first.Socket.Abort();
            await Wait.ForAsync(first.ReaderCompletion, "first connection's reader stops");
            seen.AddRange(first.TakeAllBuffered().Where(m => m.GetProperty("event").GetString() == Event).Select(m => m.GetProperty("seq").GetInt64()));
            await first.DisposeAsync();

            // Second life: recover from the last seq seen, while the producers keep going, then read live until they stop.
            await using var second = await server.ConnectAuthenticatedAsync("1", [GuildA]);
            var recovered = await second.SubscribeAsync(GuildA, seen[^1], server.Manager.Epoch);
            Assert.That(recovered.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
            await Task.Delay(random.Next(0, 20));
            await stop.CancelAsync();
            await Wait.ForAsync(Task.WhenAll(producers), "producers stop");
            server.Manager.Broadcast(GuildA, "moderation:stats_updated", new { done = round });

            while (true)
            {
                var message = await second.NextAsync();
                var name = message.GetProperty("event").GetString();
                seen.Add(message.GetProperty("seq").GetInt64());
                if (name == "moderation:stats_updated")
                {
                    break;
                }

                Assert.That(name, Is.EqualTo(Event));
            }

            // Every seq from the round's start to its end exactly once, in order: nothing missed, nothing repeated.
            var from = (round == 0 ? subscribed.GetProperty("data").GetProperty("seq").GetInt64() : expectedLast) + 1;
            Assert.That(seen, Is.EqualTo(Enumerable.Range(0, (int)(seen[^1] - from + 1)).Select(k => from + k)), $"round {round}");
            expectedLast = seen[^1];
        }
    }

    [Test]
    public async Task Recovery_UpToDate_RecoveredTrue_AndNothingIsReplayed()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA]);
        server.Manager.Broadcast(GuildA, Event);
        server.Manager.Broadcast(GuildA, Event);
        await server.FlushAsync();

        var subscribed = await client.SubscribeAsync(GuildA, 2, server.Manager.Epoch);

        Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [Test]
    public async Task Recovery_FromSeqZeroOfAGuildWithNoEvents_RecoveredTrue()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA]);

        var subscribed = await client.SubscribeAsync(GuildA, 0, server.Manager.Epoch);

        Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
    }

    private static IEnumerable<TestCaseData> Unrecoverable()
    {
        yield return new TestCaseData(3, 10L, "other-epoch").SetName("Recovery_OtherEpoch_RecoveredFalse");
        yield return new TestCaseData(3, 10L, null).SetName("Recovery_SeqFromTheFuture_RecoveredFalse");
        yield return new TestCaseData(20, 2L, null).SetName("Recovery_BeyondHistoryCapacity_RecoveredFalse");
    }

    [TestCaseSource(nameof(Unrecoverable))]
    public async Task Recovery_Impossible_RecoveredFalse_NothingReplayed_ThenLiveEvents(int broadcasts, long lastSeq, string? epoch)
    {
        await using var server = await TestServer.StartAsync(o => o.HistoryCapacity = 10);
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA]);
        for (var i = 0; i < broadcasts; i++)
        {
            server.Manager.Broadcast(GuildA, Event);
        }

        await server.FlushAsync();

        var subscribed = await client.SubscribeAsync(GuildA, lastSeq, epoch ?? server.Manager.Epoch);
        server.Manager.Broadcast(GuildA, Event);
        var live = await client.ExpectAsync(Event);

        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.False);
            Assert.That(subscribed.GetProperty("data").GetProperty("seq").GetInt64(), Is.EqualTo(broadcasts), "the position to refetch from");
            Assert.That(live.GetProperty("seq").GetInt64(), Is.EqualTo(broadcasts + 1), "live events follow subscribed directly");
        });
    }

    [Test]
    public async Task Recovery_WithinCapacity_ButTooOld_RecoveredFalse()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.HistoryMaxAge = TimeSpan.FromMinutes(1);
                o.IdleTimeout = Timeout.InfiniteTimeSpan; // the fake clock jumps; only the history age is under test
                // A send whose completion the writer has not yet recorded when the clock jumps would look stuck for
                // two minutes and be aborted (seen under load: "WebSocket is in an invalid state ('Aborted')").
                o.SendTimeout = TimeSpan.FromHours(1);
            },
            timeProvider: clock);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA], now: clock.GetUtcNow(), lifetime: TimeSpan.FromHours(1)));
        server.Manager.Broadcast(GuildA, Event);
        server.Manager.Broadcast(GuildA, Event);
        await server.FlushAsync();

        clock.Advance(TimeSpan.FromMinutes(2));
        var subscribed = await client.SubscribeAsync(GuildA, 1, server.Manager.Epoch);

        Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.False);
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [Test]
    public async Task Recovery_AfterServerRestart_RecoveredFalse()
    {
        var first = await TestServer.StartAsync();
        var port = first.Options.Port;
        var client = await first.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        first.Manager.Broadcast(GuildA, Event);
        var last = await client.ExpectAsync(Event);
        var epoch = last.GetProperty("epoch").GetString()!;
        await first.DisposeAsync();
        var (status, _) = await Wait.ForAsync(client.Closed, "closed by the stopping server");
        Assert.That(status, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
        await client.DisposeAsync();

        await using var second = await TestServer.StartAsync(o => o.Port = port);
        await using var again = await second.ConnectAuthenticatedAsync("1", [GuildA]);
        var subscribed = await again.SubscribeAsync(GuildA, last.GetProperty("seq").GetInt64(), epoch);

        Assert.Multiple(() =>
        {
            Assert.That(second.Manager.Epoch, Is.Not.EqualTo(epoch), "a restart starts a new epoch");
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.False);
        });
    }

    [Test]
    public async Task SlowReader_GetsClose1013SlowConsumer_ThenRecoversEverythingOnReconnect()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.SendQueueCapacity = 8;
            o.SendQueueMaxBytes = 256 * 1024;
            o.CloseTimeout = TimeSpan.FromMinutes(1); // let the slow reader reach the close frame
            o.HistoryCapacity = 1000;
        });
        var slow = await TestClient.ConnectAsync(server.Uri, startReading: false);
        await using var healthy = await server.ConnectAuthenticatedAsync("2", [GuildA], GuildA);
        var payload = new string('s', 32 * 1024);

        // The slow client subscribes through the raw socket (no background reader), then reads nothing yet.
        await slow.SendAsync(new { type = "auth", token = TestTokens.Create("1", [GuildA]) });
        await slow.SendAsync(new { type = "subscribe", guildId = GuildA });
        await Wait.UntilAsync(() => server.Manager.Connections.Any(c => c.User?.UserId == "1" && c.SubscriptionCount == 1), "slow client subscribed");
        var slowConnection = server.Manager.Connections.Single(c => c.User?.UserId == "1");

        var sent = 0;
        while (!slowConnection.IsClosing && sent < 4000)
        {
            server.Manager.Broadcast(GuildA, Event, new { n = sent++, payload });
            if (sent % 4 == 0)
            {
                for (var k = 0; k < 4; k++)
                {
                    await healthy.ExpectAsync(Event);
                }
            }
        }

        Assert.That(slowConnection.IsClosing, Is.True, $"the slow client is told to go after {sent} events");

        // Now it reads what reached it, then the close frame.
        var received = new List<long>();
        var buffer = new byte[1024 * 1024];
        string? epoch = null;
        while (true)
        {
            using var assembled = new MemoryStream();
            WebSocketReceiveResult result;
            do
            {
                result = await slow.Socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait.Default);
                assembled.Write(buffer, 0, result.Count);
            }
            while (!result.EndOfMessage);

            if (result.MessageType == WebSocketMessageType.Close)
            {
                break;
            }

            using var doc = JsonDocument.Parse(assembled.ToArray());
            if (doc.RootElement.GetProperty("event").GetString() == Event)
            {
                received.Add(doc.RootElement.GetProperty("seq").GetInt64());
                epoch = doc.RootElement.GetProperty("epoch").GetString();
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That((int?)slow.Socket.CloseStatus, Is.EqualTo(1013));
            Assert.That(slow.Socket.CloseStatusDescription, Is.EqualTo("SLOW_CONSUMER"));
        });
        await slow.Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None).WaitAsync(Wait.Default);
        await slow.DisposeAsync();

        await using var again = await server.ConnectAuthenticatedAsync("1", [GuildA]);
        var subscribed = await again.SubscribeAsync(GuildA, received.Count == 0 ? 0 : received[^1], epoch ?? server.Manager.Epoch);
        Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
        while (received.Count < sent)
        {
            received.Add((await again.ExpectAsync(Event)).GetProperty("seq").GetInt64());
        }

        Assert.That(received, Is.EqualTo(Enumerable.Range(1, sent).Select(i => (long)i)), "everything, once, in order, across the forced reconnect");
    }
}
