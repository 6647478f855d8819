using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// The awaitable broadcast through a real redis-server: it completes only once Redis has numbered the event (not while
/// Redis does not answer), with the position a client on another instance receives.
/// </summary>
[TestFixture]
public sealed class RedisConfirmedBroadcastTests
{
    private const string Guild = "111111111111111111";
    private const string Event = LiveEvents.Moderation.RuleCreated;

    [Test]
    public async Task BroadcastAsync_CompletesOnceRedisHasTheEvent_WithThePositionAnotherInstancesClientReceives()
    {
        await using var redis = await RedisServer.StartAsync();
        var prefix = "confirm-" + Guid.NewGuid().ToString("N");
        await using var publisher = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = redis.Configuration, KeyPrefix = prefix }));
        await using var other = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = redis.Configuration, KeyPrefix = prefix }));
        await using var client = await other.ConnectAuthenticatedAsync("1", [Guild], Guild);

        redis.Pause();
        Task<StreamPosition> confirming;
        try
        {
            confirming = publisher.Manager.BroadcastAsync(Guild, Event, new { n = 1 });
            await Task.WhenAny(confirming, Task.Delay(TimeSpan.FromMilliseconds(500)));
            Assert.That(confirming.IsCompleted, Is.False, "confirmed while Redis could not have numbered it");
        }
        finally
        {
            redis.Resume();
        }

        var position = await Wait.ForAsync(confirming, "confirmed once Redis answers", TimeSpan.FromSeconds(30));
        var received = await client.ExpectAsync(Event, TimeSpan.FromSeconds(30));
        Assert.Multiple(() =>
        {
            Assert.That(position.Seq, Is.EqualTo(received.GetProperty("seq").GetInt64()));
            Assert.That(position.Epoch, Is.EqualTo(received.GetProperty("epoch").GetString()));
        });
    }
}
