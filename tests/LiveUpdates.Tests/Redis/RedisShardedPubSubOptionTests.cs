using System.Text;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Redis.Internal;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Issue 19: <see cref="RedisBrokerOptions.ShardedPubSub"/> forced on against a server that cannot do it (older than
/// Redis 7.0: no <c>SSUBSCRIBE</c>, no <c>SPUBLISH</c> in scripts) fails the start with a message naming the option and
/// the server's version, not the first publish. No Redis older than 7.0 is installed here: the real-server test makes
/// StackExchange.Redis see an older version (<c>version=</c> with <c>INFO</c> left out of its command map), and the
/// check itself is unit-tested.
/// </summary>
[TestFixture]
public sealed class RedisShardedPubSubOptionTests
{
    private RedisServer _redis = null!;

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    [Test]
    public void TheCheck_RefusesAServerOlderThan7_NamingTheOptionAndTheVersion_AndAcceptsTheRest()
    {
        var refused = PubSubMode.Refusal(true, [("10.0.0.1:6379", new Version(7, 0, 15)), ("10.0.0.2:6379", new Version(6, 2, 14))]);
        Assert.Multiple(() =>
        {
            Assert.That(refused, Does.Contain("ShardedPubSub").And.Contain("6.2.14").And.Contain("10.0.0.2:6379").And.Contain("7.0"));
            Assert.That(PubSubMode.Refusal(true, [("10.0.0.1:6379", new Version(7, 0, 15))]), Is.Null, "7.0 can");
            Assert.That(PubSubMode.Refusal(null, [("10.0.0.2:6379", new Version(6, 2, 14))]), Is.Null, "automatic: classic on 6.2, no refusal");
            Assert.That(PubSubMode.Refusal(false, [("10.0.0.2:6379", new Version(6, 2, 14))]), Is.Null, "forced off");
        });
    }

    [Test]
    public async Task ForcedOn_AgainstAServerSeenAsOlderThan7_TheStartFails_NamingTheOptionAndTheVersion()
    {
        await using var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration + ",version=6.2.14,$INFO=,$HELLO=", KeyPrefix = "old-" + Guid.NewGuid().ToString("N"), ShardedPubSub = true });
        var error = Assert.ThrowsAsync<InvalidOperationException>(() => broker.StartAsync(new NullHandler(), CancellationToken.None));
        Assert.That(error!.Message, Does.Contain("ShardedPubSub").And.Contain("6.2.14"));
    }

    /// <summary>Redis unreachable at start-up (the start cannot know the version): once it answers, one Error names the option and the version, and the health check says it.</summary>
    [Test]
    public async Task ForcedOn_RedisUnreachableAtStart_ThenAServerSeenAsOlderThan7_AnErrorAndTheHealthCheckSayIt()
    {
        await using var later = await RedisServer.StartAsync();
        await later.KillAsync();
        using var logs = new CapturingLoggerProvider(LogLevel.Information);
        using var factory = logs.CreateFactory();
        await using var broker = new RedisBroker(new RedisBrokerOptions { Configuration = later.Configuration + ",version=6.2.14,$INFO=,$HELLO=", KeyPrefix = "late-" + Guid.NewGuid().ToString("N"), ShardedPubSub = true }, factory);
        await broker.StartAsync(new NullHandler(), CancellationToken.None);
        var publishing = broker.PublishAsync(BrokerMessage.Event("1", "t", Encoding.UTF8.GetBytes("{}"), 0), CancellationToken.None).AsTask();

        await later.RestartAsync();
        var error = await logs.WaitForAsync(LogLevel.Error, "ShardedPubSub");
        await Wait.UntilAsync(() => broker.GetHealth().Description.Contains("ShardedPubSub", StringComparison.Ordinal), "the health check naming the option");
        Assert.Multiple(() =>
        {
            Assert.That(error.Message, Does.Contain("6.2.14"));
            Assert.That(broker.GetHealth().IsAvailable, Is.False);
            Assert.That(broker.OutboxLength, Is.EqualTo(1), "the broadcast waits (not executed), it is not turned into a gap");
            Assert.That(publishing.IsCompleted, Is.False, "not published");
        });
    }

    /// <summary>Sharded pub/sub works on a single Redis 7 server too (not a cluster): forcing it there is no error.</summary>
    [Test]
    public async Task ForcedOn_AgainstASingleRedis7Server_Works()
    {
        await using var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = "one-" + Guid.NewGuid().ToString("N"), ShardedPubSub = true });
        var handler = new NullHandler();
        await broker.StartAsync(handler, CancellationToken.None);
        await broker.SubscribeAsync("1", CancellationToken.None);
        var position = await broker.PublishAsync(BrokerMessage.Event("1", "t", Encoding.UTF8.GetBytes("{}"), 0), CancellationToken.None);
        await Wait.UntilAsync(() => handler.Received.Contains(position), "the publication, through SPUBLISH/SSUBSCRIBE on one server");
        var shardChannels = (string[])(await broker.Connection!.GetServers()[0].ExecuteAsync("PUBSUB", "SHARDCHANNELS"))!;
        Assert.That(shardChannels, Has.Length.EqualTo(1), "the channel is a sharded one");
    }

    private sealed class NullHandler : IBrokerHandler
    {
        public System.Collections.Concurrent.ConcurrentBag<StreamPosition> Received { get; } = [];

        public void OnPublication(Publication publication) => Received.Add(publication.Position);

        public void OnStreamLost(string guildId, StreamPosition position)
        {
        }
    }
}
