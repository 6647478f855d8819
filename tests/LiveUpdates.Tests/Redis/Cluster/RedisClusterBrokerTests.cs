using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Brokers;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis.Cluster;

/// <summary>The broker specification against the Redis broker on a real three-primary Redis Cluster (a key prefix per test).</summary>
[TestFixture]
public sealed class RedisClusterBrokerTests : BrokerSpecification
{
    private RedisCluster _cluster = null!;

    [OneTimeSetUp]
    public async Task JoinCluster() => _cluster = await RedisCluster.SharedAsync();

    protected override IBroker CreateBroker(int historyCapacity, TimeSpan historyMaxAge) => new RedisBroker(new RedisBrokerOptions
    {
        Configuration = _cluster.Configuration,
        KeyPrefix = "cspec-" + Guid.NewGuid().ToString("N"),
        HistoryCapacity = historyCapacity,
        HistoryMaxAge = historyMaxAge,
        PositionCheckInterval = historyMaxAge > TimeSpan.FromSeconds(20) ? TimeSpan.FromSeconds(10) : historyMaxAge / 2, // must be shorter than HistoryMaxAge (validated)
    });

    protected override Task AdvanceAsync(TimeSpan time) => Task.Delay(time);
}
