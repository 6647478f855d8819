using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Revocation by user across instances (issue 20, item 2): a user disconnected on one instance loses their sockets on
/// every instance sharing the Redis broker (its control stream), over real redis-server processes.
/// </summary>
[TestFixture]
public sealed class RedisUserDisconnectTests
{
    private const string Guild = "111111111111111111";

    private RedisServer _redis = null!;
    private readonly List<TestServer> _servers = [];

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    [TearDown]
    public async Task StopServers()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    [Test]
    public async Task DisconnectUser_OnOneInstance_ClosesTheUsersSocketsOnAnother_With4001_WithinASecond_OthersUntouched()
    {
        var prefix = "disconnect-" + Guid.NewGuid().ToString("N");
        var a = await StartInstanceAsync(prefix);
        var b = await StartInstanceAsync(prefix);
        await using var onB = await b.ConnectAuthenticatedAsync("1", [Guild], Guild);
        await using var onA = await a.ConnectAuthenticatedAsync("1", [Guild], Guild);
        await using var other = await b.ConnectAuthenticatedAsync("2", [Guild], Guild);

        var started = DateTime.UtcNow;
        await a.Manager.DisconnectUserAsync("1");
        var (status, reason) = await Wait.ForAsync(onB.Closed, "the user's socket on the other instance closes");
        var elapsed = DateTime.UtcNow - started;
        var (statusA, _) = await Wait.ForAsync(onA.Closed, "the user's socket on the calling instance closes");

        a.Manager.Broadcast(Guild, LiveEvents.Moderation.RuleCreated, new { after = true });
        await other.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        Assert.Multiple(() =>
        {
            Assert.That((int?)status, Is.EqualTo(4001));
            Assert.That(reason, Is.EqualTo("USER_DISCONNECTED"));
            Assert.That((int?)statusA, Is.EqualTo(4001));
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(1)), "closed on the other instance within a second");
        });
    }

    private async Task<TestServer> StartInstanceAsync(string prefix)
    {
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = prefix });
        var server = await TestServer.StartAsync(broker: broker);
        _servers.Add(server);
        return server;
    }
}
