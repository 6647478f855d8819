using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// A recovery read of another epoch reads nothing of the stream from Redis (issue 20, item 4): measured on a real
/// redis-server as the bytes it sent, so a client that keeps asking with a stale epoch cannot make the server pull a
/// whole history per subscribe.
/// </summary>
[TestFixture]
public sealed partial class RedisReplayReadTests
{
    private const string Guild = "111111111111111111";

    [TestCase(true, TestName = "ReadSince_OtherEpoch_ReadsNoEntries_OnAnInstanceThatFollowsTheGuild")]
    [TestCase(false, TestName = "ReadSince_OtherEpoch_ReadsNoEntries_OnAnInstanceThatDoesNotFollowTheGuild")]
    public async Task ReadSince_OtherEpoch_ReadsNoEntries(bool subscribed)
    {
        await using var redis = await RedisServer.StartAsync();
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = redis.Configuration, HistoryCapacity = 256 });
        try
        {
            await broker.StartAsync(new NullHandler(), CancellationToken.None);
            if (subscribed)
            {
                await broker.SubscribeAsync(Guild, CancellationToken.None);
            }

            var data = Encoding.UTF8.GetBytes("\"" + new string('x', 4096) + "\"");
            StreamPosition top = default;
            for (var i = 0; i < 256; i++)
            {
                top = await broker.PublishAsync(BrokerMessage.Event(Guild, "moderation:rule_created", data, 1_700_000_000_000), CancellationToken.None);
            }

            // Sanity: the right epoch reads the whole history (about 1 MiB from Redis).
            var before = await OutputBytesAsync(redis);
            var right = await broker.ReadSinceAsync(Guild, new StreamPosition(0, top.Epoch), CancellationToken.None);
            var rightBytes = await OutputBytesAsync(redis) - before;

            before = await OutputBytesAsync(redis);
            var wrong = await broker.ReadSinceAsync(Guild, new StreamPosition(0, "another-epoch"), CancellationToken.None);
            var wrongBytes = await OutputBytesAsync(redis) - before;

            TestContext.Out.WriteLine($"bytes Redis sent: right epoch {rightBytes}, wrong epoch {wrongBytes}");
            Assert.Multiple(() =>
            {
                Assert.That(right.Publications, Has.Count.EqualTo(256));
                Assert.That(rightBytes, Is.GreaterThan(256 * 4096));
                Assert.That(wrong.Recovered, Is.False);
                Assert.That(wrong.Publications, Is.Empty);
                Assert.That(wrongBytes, Is.LessThan(16 * 1024), "a reader of another epoch pulls no entries (only the position, and the INFO reply itself)");
            });
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    /// <summary>Redis's count of bytes sent to all clients (INFO stats total_net_output_bytes).</summary>
    private static async Task<long> OutputBytesAsync(RedisServer redis)
    {
        var info = await redis.CommandAsync("INFO", "stats");
        return long.Parse(OutputBytes().Match(info).Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"total_net_output_bytes:(\d+)")]
    private static partial Regex OutputBytes();

    private sealed class NullHandler : IBrokerHandler
    {
        public void OnPublication(Publication publication)
        {
        }

        public void OnStreamLost(string guildId, StreamPosition position)
        {
        }
    }
}
