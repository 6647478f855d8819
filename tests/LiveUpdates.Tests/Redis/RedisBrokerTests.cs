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
        PositionCheckInterval = historyMaxAge > TimeSpan.FromSeconds(20) ? TimeSpan.FromSeconds(10) : historyMaxAge / 2, // must be shorter than HistoryMaxAge (validated)
    });

    protected override Task AdvanceAsync(TimeSpan time) => Task.Delay(time);

    [Test]
    public async Task ReadSince_WhileRedisIsUnreachable_NeverRecovers_NotEvenFromThePlaceholderPositionItAnswered()
    {
        // While Redis does not answer, a reader is answered (0, "unavailable"): a placeholder, not a place in any stream.
        // A client that comes back with it must refetch, or it would skip whatever was published meanwhile.
        await using var down = await RedisServer.StartAsync();
        await down.KillAsync();
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = down.Configuration, OperationTimeout = TimeSpan.FromSeconds(1) });
        try
        {
            await broker.StartAsync(new RecordingHandler(), CancellationToken.None);
            var first = await broker.ReadSinceAsync(GuildA, null, CancellationToken.None);
            var again = await broker.ReadSinceAsync(GuildA, first.Current, CancellationToken.None);

            Assert.Multiple(() =>
            {
                Assert.That(first.Recovered, Is.Null);
                Assert.That(again.Recovered, Is.False, $"a reader at {first.Current} while Redis is unreachable");
                Assert.That(again.Publications, Is.Empty);
            });
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }
}
