using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Brokers;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>The broker specification against the Redis broker and a real redis-server (one per fixture, a key prefix per test).</summary>
[TestFixture]
public sealed class RedisBrokerTests : BrokerSpecification
{
    private RedisServer _server = null!;

    [OneTimeSetUp]
    public async Task StartServer() => _server = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    protected override IBroker CreateBroker(int historyCapacity, TimeSpan historyMaxAge) => new RedisBroker(new RedisBrokerOptions
    {
        Configuration = _server.Configuration,
        KeyPrefix = "spec-" + Guid.NewGuid().ToString("N"),
        HistoryCapacity = historyCapacity,
        HistoryMaxAge = historyMaxAge,
    });

    protected override Task AdvanceAsync(TimeSpan time) => Task.Delay(time);
}
