using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis.Cluster;

/// <summary>Stops the Redis Cluster the tests of this namespace share (<see cref="RedisCluster.SharedAsync"/>) once they have all run.</summary>
[SetUpFixture]
public sealed class ClusterSetUp
{
    [OneTimeTearDown]
    public Task StopCluster() => RedisCluster.DisposeSharedAsync();
}
