using System.Text.Json;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Issue 19, items 2, 4, 5 and 7, against a real redis-server per test: replies that mean "not executed" are retried
/// (no gap), an unknown outcome is retried once-only (no gap, no duplicate), a late message of a retired epoch is not a
/// second epoch change, the metadata outlives an expired stream, and a stop keeps publishing within its timeout.
/// </summary>
[TestFixture]
public sealed class RedisRetryTests
{
    private const string G = RedisScaleOutTests.G1;

    private RedisServer _redis = null!;
    private readonly List<TestServer> _servers = [];
    private string _prefix = string.Empty;

    [SetUp]
    public async Task SetUp()
    {
        _prefix = "retry-" + Guid.NewGuid().ToString("N");
        _redis = await RedisServer.StartAsync();
    }

    [TearDown]
    public async Task TearDown()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
        await _redis.DisposeAsync();
    }

    /// <summary>Item 4: BUSY (a script running past busy-reply-threshold) refuses the publish before it runs: it is retried, not replaced by a gap.</summary>
    [Test]
    public async Task ABusyReply_IsRetried_NoGap_NoRefetch_EveryEventInOrder()
    {
        var server = await StartInstanceAsync();
        await using var client = await server.ConnectAuthenticatedAsync("u", [G], G);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await RedisScaleOutTests.ReceiveEventsAsync(client, 1);

        Assert.That(await _redis.CommandAsync("CONFIG", "SET", "busy-reply-threshold", "100"), Does.StartWith("+OK"));
        var busy = _redis.CommandAsync("EVAL", "local i = 0 while true do i = i + 1 end", "0"); // answers once killed
        await Wait.UntilAsync(() => _redis.CommandAsync("PING").GetAwaiter().GetResult().StartsWith("-BUSY", StringComparison.Ordinal), "Redis answers BUSY");
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 2 });
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 3 });
        await Task.Delay(1500); // a few attempts, each refused with BUSY
        Assert.That(await _redis.CommandAsync("SCRIPT", "KILL"), Does.StartWith("+OK"));
        await busy;
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 4 });

        var after = await ReceiveUntilAsync(client, 4);
        Assert.Multiple(() =>
        {
            Assert.That(after.Select(e => e.GetProperty("event").GetString()), Has.No.Member("refetch"), "nothing was lost: no refetch");
            Assert.That(after.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 2, 3, 4 }), "every event, once, in order");
        });
    }

    /// <summary>Item 4: a publish sent, then Redis frozen past the command timeout (outcome unknown), is sent again and published once.</summary>
    [Test]
    public async Task AnUnknownOutcome_IsRetried_PublishedOnce_NoGap_NoRefetch()
    {
        var server = await StartInstanceAsync();
        await using var client = await server.ConnectAuthenticatedAsync("u", [G], G);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await RedisScaleOutTests.ReceiveEventsAsync(client, 1);

        _redis.Pause();
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 2 }); // sent; no answer within the 1 s timeout
        await Task.Delay(2500);
        _redis.Resume(); // runs the first attempt, then the retry finds its result key
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 3 });

        var after = await ReceiveUntilAsync(client, 3);
        var stream = await _redis.CommandAsync("XLEN", $"{_prefix}:{{{G}}}:stream");
        Assert.Multiple(() =>
        {
            Assert.That(after.Select(e => e.GetProperty("event").GetString()), Has.No.Member("refetch"), "no gap: nobody refetches");
            Assert.That(after.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 2, 3 }), "once each, in order");
            Assert.That(stream, Does.StartWith(":3"), "three entries: the retried batch was appended once");
        });
    }

    /// <summary>Item 5: after a catch-up to a new epoch, a late message of the old one is dropped: no second refetch, no old event after the new epoch's.</summary>
    [Test]
    public async Task ALateMessageOfARetiredEpoch_IsNotASecondEpochChange()
    {
        var server = await StartInstanceAsync();
        await using var client = await server.ConnectAuthenticatedAsync("u", [G], G);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        var first = (await RedisScaleOutTests.ReceiveEventsAsync(client, 1)).Single();
        var oldEpoch = first.GetProperty("epoch").GetString()!;

        Assert.That(await _redis.CommandAsync("DEL", $"{_prefix}:{{{G}}}:meta", $"{_prefix}:{{{G}}}:stream"), Does.StartWith(":2")); // as if expired
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 2 }); // a new epoch
        var refetch = await client.ExpectAsync("refetch", TimeSpan.FromSeconds(10));
        Assert.That(refetch.GetProperty("data").GetProperty("epoch").GetString(), Is.Not.EqualTo(oldEpoch));

        // The old epoch's message for seq 2, late (as if it had waited in a slow subscription).
        Assert.That(await _redis.CommandAsync("PUBLISH", $"{_prefix}:{{{G}}}:ch", ChannelMessage(2, oldEpoch, "{\"n\":99}")), Does.StartWith(":"));
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 3 });

        var after = await ReceiveUntilAsync(client, 3);
        Assert.Multiple(() =>
        {
            Assert.That(after.Select(e => e.GetProperty("event").GetString()), Has.No.Member("refetch"), "no second epoch change");
            Assert.That(after.Select(e => e.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(new[] { 3 }), "the old epoch's message is not delivered");
            Assert.That(after.Single().GetProperty("epoch").GetString(), Is.EqualTo(refetch.GetProperty("data").GetProperty("epoch").GetString()));
        });
    }

    /// <summary>Item 7: a client back to a quiet guild whose stream expired, with nothing published meanwhile, recovers (the metadata lives on).</summary>
    [Test]
    public async Task AQuietGuildWhoseStreamExpired_KeepsItsPosition_AReturningClientRecovers()
    {
        var server = await StartInstanceAsync(historyMaxAge: TimeSpan.FromSeconds(2));
        TestClient? gone = await server.ConnectAuthenticatedAsync("u", [G], G);
        server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        var last = (await RedisScaleOutTests.ReceiveEventsAsync(gone, 1)).Single();
        await gone.DisposeAsync(); // nobody watches the guild any more: nothing refreshes its keys

        await Wait.UntilAsync(() => _redis.CommandAsync("EXISTS", $"{_prefix}:{{{G}}}:stream").GetAwaiter().GetResult().StartsWith(":0", StringComparison.Ordinal), "the stream expired", TimeSpan.FromSeconds(30));
        await using var back = await server.ConnectAuthenticatedAsync("u", [G]);
        var subscribed = await back.SubscribeAsync(G, last.GetProperty("seq").GetInt64(), last.GetProperty("epoch").GetString()!);

        Assert.Multiple(() =>
        {
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True, "nothing was published since: nothing to refetch");
            Assert.That(subscribed.GetProperty("data").GetProperty("epoch").GetString(), Is.EqualTo(last.GetProperty("epoch").GetString()));
        });
    }

    /// <summary>Item 2: a stop with publications waiting keeps trying within ShutdownTimeout (Redis coming back meanwhile); what cannot be published is logged per guild at Error.</summary>
    [Test]
    public async Task AStopWithAWaitingOutbox_PublishesWhatRedisTakesWithinTheShutdownTimeout()
    {
        var server = await StartInstanceAsync(shutdown: TimeSpan.FromSeconds(20));
        await _redis.KillAsync();
        for (var n = 1; n <= 3; n++)
        {
            server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n });
        }

        await server.FlushAsync();
        var stopping = server.Manager.StopAsync();
        await Task.Delay(1000);
        await _redis.RestartAsync();
        await stopping;

        Assert.That(await _redis.CommandAsync("XLEN", $"{_prefix}:{{{G}}}:stream"), Does.StartWith(":3"), "published during the stop, once Redis was back");
    }

    /// <summary>Item 2: what a stop could not publish is logged at Error with the count per guild.</summary>
    [Test]
    public async Task AStopThatCannotPublish_LogsTheCountPerGuildAtError()
    {
        using var logs = new CapturingLoggerProvider(LogLevel.Warning);
        using var factory = logs.CreateFactory();
        var server = await StartInstanceAsync(shutdown: TimeSpan.FromSeconds(1), loggerFactory: factory);
        await _redis.KillAsync();
        for (var n = 1; n <= 3; n++)
        {
            server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated, new { n });
        }

        server.Manager.Broadcast(RedisScaleOutTests.G2, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await server.FlushAsync();
        await server.Manager.StopAsync();

        var error = logs.At(LogLevel.Error).Single(e => e.Category.StartsWith("LiveUpdates.Redis", StringComparison.Ordinal));
        Assert.That(error.Message, Does.Contain($"{G}: 3").And.Contain($"{RedisScaleOutTests.G2}: 1").And.Contain("4 publication(s)"));
    }

    /// <summary>A channel message as the publish script writes it: seq, epoch, identity, previous identity, timestamp, name, data.</summary>
    private static string ChannelMessage(long seq, string epoch, string data) =>
        $"{seq}\n{epoch}\n42\n\n1700000000000\n{LiveEvents.Moderation.RuleCreated}\n{data}";

    private static async Task<List<JsonElement>> ReceiveUntilAsync(TestClient client, int n)
    {
        var received = new List<JsonElement>();
        while (!received.Exists(e => e.GetProperty("event").GetString() == LiveEvents.Moderation.RuleCreated && e.GetProperty("data").GetProperty("n").GetInt32() == n))
        {
            received.Add(await client.NextAsync(TimeSpan.FromSeconds(30)));
        }

        return received;
    }

    private async Task<TestServer> StartInstanceAsync(TimeSpan? historyMaxAge = null, TimeSpan? shutdown = null, ILoggerFactory? loggerFactory = null)
    {
        var broker = new RedisBroker(
            new RedisBrokerOptions
            {
                Configuration = _redis.Configuration + ",connectTimeout=1000",
                KeyPrefix = _prefix,
                OperationTimeout = TimeSpan.FromSeconds(1),
                PositionCheckInterval = TimeSpan.FromSeconds(1),
                HistoryMaxAge = historyMaxAge,
                ShutdownTimeout = shutdown,
            },
            loggerFactory ?? TestServer.LoggerFactory);
        var server = await TestServer.StartAsync(o => o.PermissionCategories["moderation"] = ["moderation.manage_config"], broker: broker, loggerFactory: loggerFactory);
        _servers.Add(server);
        return server;
    }
}
