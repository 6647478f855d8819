using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using StackExchange.Redis;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The per-hop run, server side (the <c>hops</c> command): broadcasts paced events with the awaitable broadcast and
/// notes, per event, when it was published (the call), when the broker confirmed it (for Redis: the script is done) and,
/// on Redis, when its pub/sub message arrived on a connection of its own to the guild's channel (as every instance's
/// subscription receives it). The load tool adds when the first client and the median client received it.
/// All times are Stopwatch ticks, the monotonic clock the tool's clients share.
/// </summary>
internal static partial class HopRun
{
    public static async Task<object> RunAsync(IBenchServer server, ServerProcess.BroadcastCommand cmd)
    {
        if (server is not LiveUpdatesBenchServer bench)
        {
            return new { error = "hops: only the liveupdates server confirms broadcasts" };
        }

        var channelAt = new ConcurrentDictionary<int, long>();
        ConnectionMultiplexer? redis = null;
        if (LiveUpdatesBenchServer.RedisChannelOf(cmd.Guilds[0]) is { } target)
        {
            redis = await ConnectionMultiplexer.ConnectAsync(target.Configuration);
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(target.Channel), (_, message) =>
            {
                var now = Stopwatch.GetTimestamp();
                foreach (Match match in IndexField().Matches(Encoding.UTF8.GetString((byte[])message!)))
                {
                    channelAt.TryAdd(int.Parse(match.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture), now);
                }
            });
        }

        try
        {
            var sent = new long[cmd.Count];
            var confirmed = new long[cmd.Count];
            var confirming = new Task[cmd.Count];
            var pad = new string('x', cmd.PadBytes);
            var interval = cmd.Rate > 0 ? Stopwatch.Frequency / cmd.Rate : 0;
            var start = Stopwatch.GetTimestamp();
            for (var i = 0; i < cmd.Count; i++)
            {
                var due = start + (long)(i * interval);
                while (Stopwatch.GetTimestamp() < due)
                {
                    await Task.Delay(1);
                }

                var index = i;
                sent[i] = Stopwatch.GetTimestamp();
                confirming[i] = bench.BroadcastConfirmedAsync(cmd.Guilds[i % cmd.Guilds.Length], ServerProcess.EventName, new ServerProcess.Tick(sent[i], i, pad))
                    .ContinueWith(_ => confirmed[index] = Stopwatch.GetTimestamp(), TaskScheduler.Default);
            }

            await Task.WhenAll(confirming).WaitAsync(TimeSpan.FromSeconds(60));
            var deadline = Stopwatch.GetTimestamp() + (5 * Stopwatch.Frequency);
            while (redis is not null && channelAt.Count < cmd.Count && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(10);
            }

            return new
            {
                count = cmd.Count,
                sent,
                confirmed,
                channel = redis is null ? null : Enumerable.Range(0, cmd.Count).Select(i => channelAt.GetValueOrDefault(i)).ToArray(),
            };
        }
        finally
        {
            redis?.Dispose();
        }
    }

    [GeneratedRegex("\"i\":(\\d+)")]
    private static partial Regex IndexField();
}
