using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Brokers;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

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

    /// <summary>
    /// Issue 19, item 8: a guild's last subscriber leaving while a new one arrives must not leave the feed on a channel
    /// Redis dropped. Regression coverage only: it passed without the serialization too (the window is microseconds);
    /// <see cref="RedisSubscribeRaceTests"/> reproduces the race deterministically.
    /// </summary>
    [Test]
    public async Task UnsubscribeAndSubscribeRacing_TheGuildKeepsReceiving()
    {
        var (broker, handler) = await StartAsync();
        for (var i = 0; i < 40; i++)
        {
            await broker.SubscribeAsync(GuildA, CancellationToken.None);
            await Task.WhenAll(broker.UnsubscribeAsync(GuildA, CancellationToken.None).AsTask(), broker.SubscribeAsync(GuildA, CancellationToken.None).AsTask());

            var position = await PublishAsync(broker, GuildA, $"{{\"i\":{i}}}");
            await Wait.UntilAsync(() => handler.For(GuildA).Any(p => p.Position == position), $"round {i}: the publication reaches the subscriber that arrived as the last one left", TimeSpan.FromSeconds(5));
            await broker.UnsubscribeAsync(GuildA, CancellationToken.None);
        }
    }

    /// <summary>Issue 19, "no secrets in logs": the start-up line names the server, not its password.</summary>
    [Test]
    public async Task TheStartUpLog_NamesTheServer_NotItsPassword()
    {
        await using var secured = await RedisServer.StartAsync(false, "--requirepass", "s3cret-pa55");
        using var logs = new CapturingLoggerProvider(LogLevel.Debug);
        using var factory = logs.CreateFactory();
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = secured.Configuration + ",password=s3cret-pa55" }, factory);
        try
        {
            await broker.StartAsync(new RecordingHandler(), CancellationToken.None);
            var connected = await logs.WaitForAsync(LogLevel.Information, "Redis broker connected");
            Assert.Multiple(() =>
            {
                Assert.That(connected.Message, Does.Contain(secured.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), "the server is named");
                Assert.That(logs.Entries.Where(e => e.Message.Contains("s3cret-pa55", StringComparison.Ordinal)), Is.Empty, "no line shows the password");
            });
        }
        finally
        {
            await broker.DisposeAsync();
        }
    }

    /// <summary>Issue 19, item 7: a lost publication is noticed by the position check and must still be in the stream then.</summary>
    [Test]
    public void HistoryMaxAgeNotLongerThanThePositionCheckInterval_IsRefused_NamingBoth()
    {
        var error = Assert.Throws<ArgumentException>(() => _ = new RedisBroker(new RedisBrokerOptions
        {
            Configuration = _server.Configuration,
            HistoryMaxAge = TimeSpan.FromSeconds(5),
            PositionCheckInterval = TimeSpan.FromSeconds(10),
        }));
        Assert.That(error!.Message, Does.Contain("HistoryMaxAge").And.Contain("PositionCheckInterval"));
    }
}
