using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Redis.Internal;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Redis;

/// <summary><c>AddLiveUpdates().AddRedis()</c>: settings and their precedence, start-up validation, and a host that broadcasts through a real Redis.</summary>
[TestFixture]
public sealed class AddRedisTests
{
    private const string G = RedisScaleOutTests.G1;

    [Test]
    public void Host_RedisAddedWithoutAServer_FailsAtStartNamingTheSetting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddRedis();
        ReplaceEnvironment(builder.Services, []);
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("LiveUpdates:Redis:Configuration (environment variable REDIS_URL) is not set"));
    }

    [TestCase("liveupdates{x}", "KeyPrefix")]
    [TestCase("", "KeyPrefix")]
    public void Host_ABadKeyPrefix_FailsAtStartNamingTheSetting(string prefix, string setting)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddRedis(o =>
        {
            o.Configuration = "127.0.0.1:6379";
            o.KeyPrefix = prefix;
        });
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain($"LiveUpdates:Redis:{setting}"));
    }

    [Test]
    public async Task RedisUrl_SetsTheServer_OverTheSection_CodeWinsOverBoth_HistoryBoundsComeFromTheServerOptions()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveUpdates:Redis:Configuration"] = "section:6379",
            ["LiveUpdates:Redis:KeyPrefix"] = "bot",
        }).Build();
        var services = new ServiceCollection();
        services.AddLiveUpdates(o =>
        {
            o.ConnectionTokenKey = TestTokens.Secret;
            o.HistoryCapacity = 77;
        }).AddRedis(configuration.GetSection("LiveUpdates:Redis"));
        ReplaceEnvironment(services, new() { ["REDIS_URL"] = "redis://env:6380" });
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(options.Configuration, Is.EqualTo("redis://env:6380"), "REDIS_URL overrides the section");
            Assert.That(options.KeyPrefix, Is.EqualTo("bot"));
            Assert.That(options.HistoryCapacity, Is.EqualTo(77), "from LiveUpdatesOptions");
            Assert.That(options.HistoryMaxAge, Is.EqualTo(new LiveUpdatesOptions().HistoryMaxAge));
            Assert.That(provider.GetRequiredService<IBroker>(), Is.InstanceOf<RedisBroker>());
        });

        var inCode = new ServiceCollection();
        inCode.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddRedis("code:6379");
        ReplaceEnvironment(inCode, new() { ["REDIS_URL"] = "redis://env:6380" });
        await using var codeProvider = inCode.BuildServiceProvider();
        Assert.That(codeProvider.GetRequiredService<IOptions<RedisBrokerOptions>>().Value.Configuration, Is.EqualTo("code:6379"));
    }

    [Test]
    public void RedisUrls_AreParsed_WithCredentialsDatabaseAndTls()
    {
        var plain = RedisBrokerOptionsValidation.Parse("redis://:s3cret@cache.internal:6380/2", TimeSpan.FromSeconds(5));
        var tls = RedisBrokerOptionsValidation.Parse("rediss://bot:p%40ss@cache.internal", TimeSpan.FromSeconds(5));

        Assert.Multiple(() =>
        {
            Assert.That(plain.EndPoints.Single().ToString(), Does.Contain("cache.internal:6380"));
            Assert.That(plain.Password, Is.EqualTo("s3cret"));
            Assert.That(plain.DefaultDatabase, Is.EqualTo(2));
            Assert.That(plain.Ssl, Is.False);
            Assert.That(tls.User, Is.EqualTo("bot"));
            Assert.That(tls.Password, Is.EqualTo("p@ss"));
            Assert.That(tls.Ssl, Is.True);
            Assert.That(tls.EndPoints.Single().ToString(), Does.Contain("6379"));
            Assert.That(plain.AbortOnConnectFail, Is.False, "an unreachable Redis never fails start-up");
        });
    }

    [Test]
    public async Task AHostWithRedis_DeliversThroughRedis_AndItsHealthCheckReportsTheBroker()
    {
        await using var redis = await RedisServer.StartAsync();
        var port = Ports.GetFree();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = port;
            o.ConnectionTokenKey = TestTokens.Secret;
        }).AddRedis(o =>
        {
            o.Configuration = redis.Configuration;
            o.KeyPrefix = "host-" + Guid.NewGuid().ToString("N");
        }).AddHealthCheck();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"));
            await client.ExpectAsync("connected");
            await client.AuthenticateAsync(TestTokens.Create("1", [G]));
            await client.SubscribeAsync(G);
            Broadcast.ToGuild(G, LiveEvents.Tags.TagCreated, new { name = "faq" });
            var envelope = await client.ExpectAsync("tags:tag_created");

            var health = host.Services.GetRequiredService<WebSocketManager>().GetHealth();
            Assert.Multiple(() =>
            {
                Assert.That(envelope.GetProperty("seq").GetInt64(), Is.EqualTo(1));
                Assert.That(health.Broker, Is.Not.Null);
                Assert.That(health.Broker!.IsAvailable, Is.True);
                Assert.That(health.Broker.Description, Does.Contain("Redis connected"));
            });

            await redis.KillAsync();
            await Wait.UntilAsync(() => host.Services.GetRequiredService<WebSocketManager>().GetHealth().Broker is { IsAvailable: false }, "the broker reports Redis unreachable");
            Assert.That(host.Services.GetRequiredService<WebSocketManager>().GetHealth().Status, Is.Not.EqualTo(LiveUpdatesHealthStatus.Healthy));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static void ReplaceEnvironment(IServiceCollection services, Dictionary<string, string> variables)
    {
        var index = services.ToList().FindIndex(d => d.ServiceType == typeof(IConfigureOptions<RedisBrokerOptions>) && d.ImplementationType == typeof(RedisOptionsSetup));
        services[index] = ServiceDescriptor.Singleton<IConfigureOptions<RedisBrokerOptions>>(
            sp => new RedisOptionsSetup(name => variables.GetValueOrDefault(name), sp.GetRequiredService<IOptions<LiveUpdatesOptions>>()));
    }
}
