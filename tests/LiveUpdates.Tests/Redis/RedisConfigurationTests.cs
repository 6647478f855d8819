using LiveUpdates.Redis;
using LiveUpdates.Redis.Internal;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// The deployments users run: the <c>redis://</c> / <c>rediss://</c> URL their provider hands out, several endpoints,
/// Sentinel (<c>serviceName=</c>) — parsed into the StackExchange.Redis configuration, malformed input refused at
/// start-up with a message that names the setting and never the password — and a real Sentinel in front of a real primary.
/// </summary>
[TestFixture]
public sealed class RedisConfigurationTests
{
    private const string G = RedisScaleOutTests.G1;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Test]
    public void ProviderUrls_AreParsed_IPv6HostsUserOnlyCredentialsAndDatabaseZero()
    {
        var v6 = RedisBrokerOptionsValidation.Parse("redis://[::1]:6390/0", Timeout);
        var upstash = RedisBrokerOptionsValidation.Parse("rediss://default:AbC%2Fd%3D@eu1-fine-cat-1234.upstash.io:6379", Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(v6.EndPoints.Single(), Is.EqualTo(new System.Net.IPEndPoint(System.Net.IPAddress.IPv6Loopback, 6390)), "the address, without the URL's brackets");
            Assert.That(v6.DefaultDatabase, Is.EqualTo(0));
            Assert.That(upstash.User, Is.EqualTo("default"));
            Assert.That(upstash.Password, Is.EqualTo("AbC/d="), "percent-decoded");
            Assert.That(upstash.Ssl, Is.True);
            Assert.That(upstash.SslHost, Is.EqualTo("eu1-fine-cat-1234.upstash.io"));
        });
    }

    [Test]
    public void SentinelAndSeveralEndpoints_AreTakenFromTheConfigurationString()
    {
        var sentinel = RedisBrokerOptionsValidation.Parse("sentinel-a:26379,sentinel-b:26379,serviceName=mymaster,password=s3cret", Timeout);
        var several = RedisBrokerOptionsValidation.Parse("primary:6379,replica:6379", Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(sentinel.ServiceName, Is.EqualTo("mymaster"));
            Assert.That(sentinel.EndPoints, Has.Count.EqualTo(2));
            Assert.That(sentinel.Password, Is.EqualTo("s3cret"));
            Assert.That(sentinel.AbortOnConnectFail, Is.False);
            Assert.That(several.EndPoints, Has.Count.EqualTo(2));
        });
    }

    [TestCase("http://cache:6379", "'http://' URLs are not understood")]
    [TestCase("redis-sentinel://s1:26379/mymaster", "'redis-sentinel://' URLs are not understood")]
    [TestCase("redis://:s3cret@cache:notaport", "is not a valid URL")]
    [TestCase("redis://:s3cret@cache:6379/cache", "must be a database number")]
    [TestCase("rediss://user:s3cret@cache:6379?ssl_cert_reqs=none", "query parameters")]
    [TestCase("redis:///0", "names no host")]
    public void Host_AMalformedRedisConfiguration_FailsAtStart_NamingTheSettingAndWhatIsWrong_WithoutThePassword(string configuration, string expected)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddRedis(o => o.Configuration = configuration);
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Multiple(() =>
        {
            Assert.That(ex!.Message, Does.Contain("LiveUpdates:Redis:Configuration"));
            Assert.That(ex.Message, Does.Contain(expected));
            Assert.That(ex.Message, Does.Not.Contain("s3cret"));
        });
    }

    [Test]
    public void Redact_HidesThePasswordOfAUrlAndOfAConfigurationString()
    {
        Assert.Multiple(() =>
        {
            Assert.That(RedisBrokerOptionsValidation.Redact("redis://bot:s3cret@cache:6379/1"), Is.EqualTo("redis://bot:***@cache:6379/1"));
            Assert.That(RedisBrokerOptionsValidation.Redact("cache:6379,password=s3cret,ssl=true"), Is.EqualTo("cache:6379,password=***,ssl=true"));
        });
    }

    [Test]
    public async Task TwoInstancesThroughARealSentinel_FindThePrimary_AndShareTheGuildsStream()
    {
        await using var primary = await RedisServer.StartAsync();
        await using var sentinel = await SentinelServer.StartAsync(primary.Port);
        var configuration = $"127.0.0.1:{sentinel.Port},serviceName={SentinelServer.ServiceName}";
        var prefix = "sentinel-" + Guid.NewGuid().ToString("N");
        await using var a = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = configuration, KeyPrefix = prefix }));
        await using var b = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = configuration, KeyPrefix = prefix }));
        await using var client = await b.ConnectAuthenticatedAsync("1", [G], G);

        var position = await Wait.ForAsync(a.Manager.BroadcastAsync(G, LiveEvents.Tags.TagCreated, new { name = "faq" }), "published through the primary Sentinel named", TimeSpan.FromSeconds(30));
        var received = await client.ExpectAsync(LiveEvents.Tags.TagCreated, TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(received.GetProperty("seq").GetInt64(), Is.EqualTo(position.Seq));
            Assert.That(received.GetProperty("epoch").GetString(), Is.EqualTo(position.Epoch));
        });
        var meta = await primary.CommandAsync("HGET", $"{prefix}:{{{G}}}:meta", "s");
        Assert.That(meta, Does.Contain($"\r\n{position.Seq}\r\n"), "the stream is on the primary the sentinel monitors");
    }

    /// <summary>The ACL docs/scale-out.md gives a restricted user, word for word: everything works and Redis denies nothing but CONFIG GET.</summary>
    [Test]
    public async Task TheDocumentedAclForARestrictedUser_IsEnough_RedisDeniesNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        const string Prefix = "liveupdates";
        var setUser = await redis.CommandAsync([.. RestrictedUserAcl(Prefix, "s3cret-pw").Split(' ')]);
        Assert.That(setUser, Does.StartWith("+OK"), setUser);
        var configuration = $"127.0.0.1:{redis.Port},user=liveupdates,password=s3cret-pw";
        await using (var a = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = configuration, KeyPrefix = Prefix })))
        await using (var b = await TestServer.StartAsync(broker: new RedisBroker(new RedisBrokerOptions { Configuration = configuration, KeyPrefix = Prefix })))
        {
            await using var client = await b.ConnectAuthenticatedAsync("1", [G], G);
            var position = await Wait.ForAsync(a.Manager.BroadcastAsync(G, LiveEvents.Tags.TagCreated, new { n = 1 }), "published as the restricted user", TimeSpan.FromSeconds(30));
            var received = await client.ExpectAsync(LiveEvents.Tags.TagCreated, TimeSpan.FromSeconds(30));
            Assert.That(received.GetProperty("seq").GetInt64(), Is.EqualTo(position.Seq));

            // A client returning with its position reads the history as the restricted user too.
            await using var returning = await a.ConnectAuthenticatedAsync("1", [G]);
            var subscribed = await returning.SubscribeAsync(G, position.Seq - 1, position.Epoch);
            Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
        }

        // Each ACL LOG entry names what was denied after "object"; CONFIG GET (StackExchange.Redis reads a few settings
        // at connect, and copes without them) is deliberately not granted: it can read secrets.
        var log = await redis.CommandAsync("ACL", "LOG");
        var lines = log.Split("\r\n");
        var denied = lines.Select((line, i) => (line, i)).Where(x => x.line == "object" && x.i + 2 < lines.Length).Select(x => lines[x.i + 2]).Distinct().ToList();
        Assert.That(denied, Is.Empty.Or.EquivalentTo(new[] { "config|get" }), $"Redis denied the restricted user more than CONFIG GET: {log}");
    }

    /// <summary>The <c>ACL SETUSER</c> line of docs/scale-out.md for <paramref name="prefix"/> (kept equal to it by hand).</summary>
    private static string RestrictedUserAcl(string prefix, string password) =>
        $"ACL SETUSER liveupdates on >{password} resetkeys resetchannels ~{prefix}:* ~__Booksleeve_TieBreak &{prefix}:* &__Booksleeve_MasterChanged -@all " +
        "+@connection +info +cluster|nodes +cluster|slots +get +set +evalsha +eval +script|load +subscribe +unsubscribe +publish " +
        "+ssubscribe +sunsubscribe +spublish " +
        "+hget +hmget +hset +hincrby +pexpire +del +xadd +xrange +time";
}
