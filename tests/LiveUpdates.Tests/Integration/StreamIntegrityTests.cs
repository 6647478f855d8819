using System.Net.WebSockets;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// The stream's promises under pressure: memory follows activity, a dropped broadcast is never silent, every
/// subscribe is answered, auth cannot be looped.
/// </summary>
[TestFixture]
public sealed class StreamIntegrityTests
{
    private const string GuildA = "123456789012345678";
    private const string Event = "moderation:infraction_created";

    [Test]
    public async Task QuietGuilds_HistoryExpires_AndTheirStreamsGoAway_MemoryReturnsToTheBaseline()
    {
        // LIVEUPDATES_MEMORY_GUILDS=100000 reproduces the figure of docs/guarantees.md (the suite runs 20,000).
        var guilds = int.TryParse(Environment.GetEnvironmentVariable("LIVEUPDATES_MEMORY_GUILDS"), out var n) ? n : 20_000;
        const int EventsPerGuild = 10;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await TestServer.StartAsync(o => o.IdleTimeout = Timeout.InfiniteTimeSpan, timeProvider: clock);
        var payload = new { text = new string('x', 180) };
        var baseline = Memory();

        for (var g = 0; g < guilds; g++)
        {
            var guildId = (100_000_000_000_000_000L + g).ToString(System.Globalization.CultureInfo.InvariantCulture);
            for (var e = 0; e < EventsPerGuild; e++)
            {
                server.Manager.Broadcast(guildId, Event, payload);
            }

            if (g % 1000 == 999)
            {
                await server.FlushAsync(); // stay below the dispatch queue's bound: this test is about memory, not drops
            }
        }

        await server.FlushAsync();
        var broker = server.Manager.InMemoryBroker!;
        var full = Memory();
        Assert.That(broker.StreamCount, Is.EqualTo(guilds));

        clock.Advance(server.Options.HistoryMaxAge + TimeSpan.FromMinutes(1));
        await Wait.UntilAsync(() => broker.StreamCount == 0, "every idle stream removed");
        var after = Memory();

        TestContext.Out.WriteLine($"baseline {baseline / 1e6:0.0} MB, {guilds} guilds x {EventsPerGuild} events {full / 1e6:0.0} MB, after HistoryMaxAge {after / 1e6:0.0} MB");
        Assert.Multiple(() =>
        {
            Assert.That(full - baseline, Is.GreaterThan(20_000_000), "the history really held the events (the test can fail)");
            Assert.That(after - baseline, Is.LessThan(5_000_000), "memory back within a few MB of the baseline");
        });
    }

    [Test]
    public async Task ABroadcastDroppedOnAFullQueue_TellsLiveSubscribersToRefetch_AndNobodyRecoversAcrossIt()
    {
        var broker = new StallingBroker();
        await using var server = await TestServer.StartAsync(o => o.DispatchQueueCapacity = 8, broker: broker);
        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        server.Manager.Broadcast(GuildA, Event);
        var first = await client.ExpectAsync(Event);
        var epoch = first.GetProperty("epoch").GetString()!;

        // Hold the dispatch loop in a publish (a permission re-check no longer runs on it), then broadcast more than its queue holds.
        broker.Stall();
        server.Manager.Broadcast(GuildA, Event);
        await Wait.ForAsync(broker.Stalled, "the publish holds the loop");
        for (var i = 1; i < 20; i++)
        {
            server.Manager.Broadcast(GuildA, Event);
        }

        broker.Release();
        await FlushWhenThereIsRoomAsync(server);

        var received = await client.DrainUntilPongAsync();
        var refetch = received.Where(m => m.GetProperty("event").GetString() == "refetch").ToList();
        var events = received.Count(m => m.GetProperty("event").GetString() == Event);

        await using var late = await server.ConnectAuthenticatedAsync("2", [GuildA]);
        var recovery = await late.SubscribeAsync(GuildA, first.GetProperty("seq").GetInt64(), epoch);

        Assert.Multiple(() =>
        {
            Assert.That(events, Is.LessThan(20), "some broadcasts were dropped (the test can fail)");
            Assert.That(refetch, Has.Count.EqualTo(1), "the live subscriber is told to refetch");
            Assert.That(refetch[0].GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
            Assert.That(recovery.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.False, "a client from before the drop must refetch");
        });
    }

    [Test]
    public async Task ASubscribe_CompletedAfterTheSessionExpired_IsAnsweredWithSessionChanged()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var policy = new HoldingAccessPolicy(GuildA);
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.IdleTimeout = Timeout.InfiniteTimeSpan;
                o.SendTimeout = TimeSpan.FromHours(1);
            },
            timeProvider: clock,
            accessPolicy: _ => policy);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA], now: clock.GetUtcNow(), lifetime: TimeSpan.FromMinutes(5)));

        policy.Hold();
        await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        await Wait.ForAsync(policy.Held, "the subscription's access check is held");
        clock.Advance(TimeSpan.FromMinutes(10)); // the liveness sweep ends the session
        await client.ExpectErrorAsync(LiveErrorCodes.TokenExpired);
        policy.Release();

        var answer = await client.ExpectErrorAsync(LiveErrorCodes.SessionChanged);
        Assert.That(answer.GetProperty("guildId").GetString(), Is.EqualTo(GuildA));
    }

    [Test]
    public async Task AuthMessages_BeyondTheLimit_AreRefusedWithTooManyAuthAttempts_AndClosed()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxAuthAttemptsPerMinute = 3);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");

        for (var i = 0; i < 3; i++)
        {
            await client.SendAsync(new { type = "auth", token = "garbage" });
            await client.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
        }

        await client.SendAsync(new { type = "auth", token = TestTokens.Create("1", [GuildA]) });
        await client.ExpectErrorAsync(LiveErrorCodes.TooManyAuthAttempts);
        var (status, reason) = await Wait.ForAsync(client.Closed, "closed");

        Assert.That(status, Is.EqualTo(WebSocketCloseStatus.PolicyViolation));
        Assert.That(reason, Is.EqualTo("TOO_MANY_AUTH_ATTEMPTS"));
    }

    [Test]
    public void TheDefaultAuthAttemptLimit_IsSafe() =>
        Assert.That(new LiveUpdatesOptions().MaxAuthAttemptsPerMinute, Is.InRange(3, 30));

    /// <summary>Flushes once the dispatch queue has room again (a flush is refused while it is full).</summary>
    private static async Task FlushWhenThereIsRoomAsync(TestServer server)
    {
        var deadline = DateTime.UtcNow + Wait.Default;
        while (true)
        {
            try
            {
                await server.FlushAsync();
                return;
            }
            catch (InvalidOperationException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }
    }

    private static long Memory()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
