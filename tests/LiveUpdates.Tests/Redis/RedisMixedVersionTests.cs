using System.Collections.Concurrent;
using System.Text;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Issue 19, rolling upgrades: this release changed the channel payload and the stream fields (entry identities), so
/// an instance of the previous version on the same Redis and key prefix skips or misreads this version's messages and
/// this version skips its channel messages. Made visible: a hand-written previous-version publication (the previous
/// publish script's writes: <c>HINCRBY</c>, an entry without <c>i</c>, the five-field payload) over a real redis-server
/// makes this version log one Error naming the likely cause and what to do, rate-limited.
/// </summary>
[TestFixture]
public sealed class RedisMixedVersionTests
{
    private const string Guild = "123412341234123412";

    // The previous version's publish of one event, as its script did it (no identity, no predecessor, no meta 'l').
    private const string PreviousVersionPublish = """
        local e = redis.call('HGET', KEYS[1], 'e')
        local t = redis.call('TIME')
        local w = tostring(t[1]) .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
        local s = redis.call('HINCRBY', KEYS[1], 's', 1)
        redis.call('XADD', KEYS[2], s .. '-0', 'n', ARGV[2], 'd', ARGV[3], 't', w, 'w', w)
        if ARGV[4] == '1' then redis.call('PUBLISH', ARGV[1], s .. '\n' .. e .. '\n' .. w .. '\n' .. ARGV[2] .. '\n' .. ARGV[3]) end
        return s
        """;

    /// <param name="onTheChannel">Whether the previous version's message reaches this one by pub/sub (otherwise only its stream entry is seen, read back when this version's next message skips its number).</param>
    [TestCase(true)]
    [TestCase(false)]
    public async Task APreviousVersionsPublication_OnTheSameKeyPrefix_IsReportedOnceAtError_NamingTheCauseAndTheRemedy(bool onTheChannel)
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "mixed-" + Guid.NewGuid().ToString("N");
        using var logs = new CapturingLoggerProvider(LogLevel.Information);
        using var factory = logs.CreateFactory();
        await using var broker = new RedisBroker(new RedisBrokerOptions { Configuration = redis.Configuration, KeyPrefix = prefix }, factory);
        var handler = new Recording();
        await broker.StartAsync(handler, CancellationToken.None);
        await broker.SubscribeAsync(Guild, CancellationToken.None);
        var first = await broker.PublishAsync(BrokerMessage.Event(Guild, "new", Encoding.UTF8.GetBytes("{}"), 0), CancellationToken.None);
        await Wait.UntilAsync(() => handler.Publications.Any(p => p.Position == first), "this version's own publication");

        var database = broker.Connection!.GetDatabase();
        RedisKey[] keys = [$"{prefix}:{{{Guild}}}:meta", $"{prefix}:{{{Guild}}}:stream"];
        RedisValue[] args = [$"{prefix}:{{{Guild}}}:ch", "old", "{\"v\":1}", onTheChannel ? "1" : "0"];
        await database.ScriptEvaluateAsync(PreviousVersionPublish, keys, args);
        if (!onTheChannel)
        {
            var next = await broker.PublishAsync(BrokerMessage.Event(Guild, "new", Encoding.UTF8.GetBytes("{}"), 0), CancellationToken.None);
            await Wait.UntilAsync(() => handler.Publications.Any(p => p.Position == next), "this version's publication after the previous version's entry");
        }

        var reported = await logs.WaitForAsync(LogLevel.Error, "another LiveUpdates version");

        // More of them, and this version publishing after them (its feed reads the previous version's entries back
        // from the stream): still the one report within the interval.
        for (var i = 0; i < 3; i++)
        {
            await database.ScriptEvaluateAsync(PreviousVersionPublish, keys, args);
        }

        var last = await broker.PublishAsync(BrokerMessage.Event(Guild, "new", Encoding.UTF8.GetBytes("{}"), 0), CancellationToken.None);
        await Wait.UntilAsync(() => handler.Publications.Any(p => p.Position == last), "this version's publication after the previous version's");

        Assert.Multiple(() =>
        {
            Assert.That(reported.Message, Does.Contain(prefix).And.Contain("Deploy all instances together").And.Contain("KeyPrefix"), "the cause and the remedy");
            Assert.That(logs.At(LogLevel.Error).Count(e => e.Message.Contains("another LiveUpdates version", StringComparison.Ordinal)), Is.EqualTo(1), "rate-limited");
            Assert.That(handler.Publications.Select(p => p.Message.EventName), Is.EqualTo(onTheChannel ? new[] { "new", "old", "old", "old", "old", "new" } : ["new", "old", "new", "old", "old", "old", "new"]), "the previous version's events still reach this version, from the stream");
        });
    }

    private sealed class Recording : IBrokerHandler
    {
        public ConcurrentQueue<Publication> Publications { get; } = new();

        public void OnPublication(Publication publication) => Publications.Enqueue(publication);

        public void OnStreamLost(string guildId, StreamPosition position)
        {
        }
    }
}
