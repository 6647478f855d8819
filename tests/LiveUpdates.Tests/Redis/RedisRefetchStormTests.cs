using System.Diagnostics;
using System.Globalization;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// A refetch storm over a real redis-server: 200 watched guilds lose their keys at once (as in a Redis restart without
/// persistence, here for those guilds only, so another guild stays unaffected); each lost guild's room is re-checked
/// against a permission store that takes 50 ms per read, and an event to the unaffected guild still reaches its client
/// within a second.
/// </summary>
[TestFixture]
public sealed class RedisRefetchStormTests
{
    private const string Quiet = "100000000000000000";
    private const int LostGuilds = 200;

    [Test]
    public async Task TwoHundredGuildsLosingTheirEpochInRedis_WithASlowPermissionStore_DoNotStallAnUnaffectedGuild()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "storm-" + Guid.NewGuid().ToString("N");
        var lost = Enumerable.Range(1, LostGuilds).Select(i => (300_000_000_000_000_000L + i).ToString(CultureInfo.InvariantCulture)).ToArray();
        var policy = new SlowAccessPolicy([Quiet, .. lost]);
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = redis.Configuration, KeyPrefix = prefix, PositionCheckInterval = TimeSpan.FromMilliseconds(300) });
        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.MaxGuildsPerClient = LostGuilds + 10;
                o.MaxSubscriptionChangesPerSecond = 10 * LostGuilds;
            },
            accessPolicy: _ => policy,
            broker: broker);
        await using var watcher = await server.ConnectAuthenticatedAsync("w", [Quiet], Quiet);
        await using var storm = await server.ConnectAuthenticatedAsync("s", lost, lost);
        foreach (var guild in lost)
        {
            server.Manager.Broadcast(guild, LiveEvents.Moderation.RuleCreated, new { n = 0 });
        }

        for (var i = 0; i < LostGuilds; i++)
        {
            await storm.ExpectAsync(LiveEvents.Moderation.RuleCreated, TimeSpan.FromSeconds(30));
        }

        // Every lost guild's keys go at once; the position checks notice within PositionCheckInterval.
        policy.Delay = TimeSpan.FromMilliseconds(50);
        var deleted = await redis.CommandAsync(["DEL", .. lost.SelectMany(g => new[] { $"{prefix}:{{{g}}}:meta", $"{prefix}:{{{g}}}:stream" })]);
        Assert.That(deleted, Does.StartWith($":{2 * LostGuilds}"), deleted);
        await Wait.UntilAsync(() => policy.Reads > 0, "the first lost guild's room re-check started", TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // every guild's check has run: the storm is under way

        var clock = Stopwatch.StartNew();
        server.Manager.Broadcast(Quiet, LiveEvents.Moderation.RuleCreated, new { n = 1 });
        await watcher.ExpectAsync(LiveEvents.Moderation.RuleCreated, TimeSpan.FromSeconds(60));
        var took = clock.Elapsed;
        Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(1)), $"the unaffected guild's event waited {took.TotalMilliseconds:F0} ms behind the lost guilds' re-checks");

        var refetched = new HashSet<string>(StringComparer.Ordinal);
        while (refetched.Count < LostGuilds)
        {
            var message = await storm.ExpectAsync("refetch", TimeSpan.FromSeconds(60));
            refetched.Add(message.GetProperty("guildId").GetString()!);
        }

        Assert.That(refetched, Is.EquivalentTo(lost), "every lost guild's subscriber is told to refetch");
    }
}
