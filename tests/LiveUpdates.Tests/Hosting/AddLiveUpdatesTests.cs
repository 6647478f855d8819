using LiveUpdates.Hosting.Internal;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Hosting;

[TestFixture]
[NonParallelizable] // hosts set the process-wide Broadcast facade
public sealed class AddLiveUpdatesTests
{
    private const string GuildA = "111111111111111111";

    [Test]
    public void AddLiveUpdates_Twice_RegistersEachServiceOnce()
    {
        var services = new ServiceCollection();

        services.AddLiveUpdates(o => o.AuthSecret = TestTokens.Secret);
        services.AddLiveUpdates();

        Assert.Multiple(() =>
        {
            Assert.That(services.Count(d => d.ServiceType == typeof(IHostedService)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ServiceType == typeof(WebSocketManager)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ServiceType == typeof(IBroadcaster)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ImplementationType == typeof(EnvironmentOptionsSetup)), Is.EqualTo(1));
        });
    }

    [Test]
    public void PluginServices_GetTheManagerAsIBroadcaster()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddLiveUpdates(o => o.AuthSecret = TestTokens.Secret);
        services.AddSingleton<SamplePlugin>();
        using var provider = services.BuildServiceProvider();

        var plugin = provider.GetRequiredService<SamplePlugin>();

        Assert.That(plugin.Broadcaster, Is.SameAs(provider.GetRequiredService<WebSocketManager>()));
    }

    [Test]
    public void AccessPolicy_WithoutAMemberSource_IsTheTokenClaimPolicy_WithOne_TheDashboardPermissionModel()
    {
        static IServiceProvider Build(bool withMembers)
        {
            var services = new ServiceCollection();
            services.AddLiveUpdates(o => o.AuthSecret = TestTokens.Secret);
            if (withMembers)
            {
                services.AddSingleton<LiveUpdates.Security.IGuildMemberSource, InMemoryMemberSource>();
            }

            return services.BuildServiceProvider();
        }

        Assert.Multiple(() =>
        {
            Assert.That(Build(false).GetRequiredService<LiveUpdates.Security.IGuildAccessPolicy>(), Is.InstanceOf<LiveUpdates.Internal.Security.TokenClaimGuildAccessPolicy>());
            Assert.That(Build(true).GetRequiredService<LiveUpdates.Security.IGuildAccessPolicy>(), Is.InstanceOf<LiveUpdates.Internal.Security.DashboardAccessPolicy>());
            Assert.That(Build(true).GetRequiredService<LiveUpdates.Security.IDashboardPermissionStore>(), Is.InstanceOf<LiveUpdates.Internal.Security.EmptyPermissionStore>(), "no MongoDB configured");
        });
    }

    [Test]
    public void PermissionStore_WithAMongoConnectionString_IsTheMongoStore()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveUpdates:AuthSecret"] = TestTokens.Secret,
            ["LiveUpdates:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/bot",
        }).Build();
        var services = new ServiceCollection();
        services.AddLiveUpdates(configuration.GetSection("LiveUpdates"));
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<LiveUpdates.Security.IDashboardPermissionStore>(), Is.InstanceOf<LiveUpdates.Hosting.Mongo.MongoDashboardPermissionStore>());
    }

    [Test]
    public async Task Host_StartsTheServer_SetsTheFacade_AndStopClearsItAndClosesClients()
    {
        var port = Ports.GetFree();
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = port;
            o.AuthSecret = TestTokens.Secret;
        });
        using var host = builder.Build();
        Assert.That(Broadcast.Current, Is.Null, "nothing set before start");

        await host.StartAsync();
        var manager = host.Services.GetRequiredService<WebSocketManager>();
        Assert.That(Broadcast.Current, Is.SameAs(manager));

        var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"));
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA]));
        await client.SubscribeAsync(GuildA);
        Broadcast.ToGuild(GuildA, LiveEvents.Tags.TagCreated, new { name = "faq" });
        var envelope = await client.ExpectAsync("tags:tag_created");
        Assert.That(envelope.GetProperty("data").GetProperty("name").GetString(), Is.EqualTo("faq"));

        await host.StopAsync();

        Assert.That(Broadcast.Current, Is.Null, "cleared on stop");
        Assert.DoesNotThrow(() => Broadcast.ToGuild(GuildA, LiveEvents.Tags.TagCreated));
        var (status, _) = await Wait.ForAsync(client.Closed, "client closed by host stop");
        Assert.That(status, Is.EqualTo(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable));
        await client.DisposeAsync();
    }

    [Test]
    public void Host_MissingSecret_FailsAtStartWithAMessageThatSaysWhatToFix()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => o.AuthSecret = null); // code runs last: this wins over AUTH_SECRET
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("LiveUpdates:AuthSecret (environment variable AUTH_SECRET) is not set"));
    }

    [Test]
    public void Host_ShortSecretAndBadPort_BothReported()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o =>
        {
            o.AuthSecret = "short";
            o.Port = 99999;
        });
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Failures, Has.Some.Contains("at least 32 bytes").And.Some.Contains("LiveUpdates:Port (environment variable WS_PORT) is 99999"));
    }

    [Test]
    public void Configuration_BindsTheSection_EnvironmentOverridesIt_CodeOverridesBoth()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveUpdates:Port"] = "4000",
            ["LiveUpdates:AuthSecret"] = TestTokens.Secret,
            ["LiveUpdates:IdleTimeout"] = "00:02:00",
            ["LiveUpdates:UserIdClaim"] = "discordId",
        }).Build();
        var services = new ServiceCollection();
        services.AddLiveUpdates(configuration.GetSection("LiveUpdates"), o => o.UserIdClaim = "id");
        ReplaceEnvironment(services, new() { ["WS_PORT"] = "4100" });
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;

        Assert.Multiple(() =>
        {
            Assert.That(options.Port, Is.EqualTo(4100), "WS_PORT overrides the section");
            Assert.That(options.AuthSecret, Is.EqualTo(TestTokens.Secret));
            Assert.That(options.IdleTimeout, Is.EqualTo(TimeSpan.FromMinutes(2)));
            Assert.That(options.UserIdClaim, Is.EqualTo("id"), "code wins");
        });
    }

    [Test]
    public void Environment_AuthSecretAndPort_AreApplied()
    {
        var options = new LiveUpdatesOptions();
        new EnvironmentOptionsSetup(name => name switch { "WS_PORT" => "3999", "AUTH_SECRET" => TestTokens.Secret, _ => null }).Configure(options);

        Assert.Multiple(() =>
        {
            Assert.That(options.Port, Is.EqualTo(3999));
            Assert.That(options.AuthSecret, Is.EqualTo(TestTokens.Secret));
        });
    }

    [Test]
    public void Environment_AuthSecretRotationVariables_AreAddedToAdditionalAuthSecrets()
    {
        var variables = new Dictionary<string, string>
        {
            ["AUTH_SECRET"] = TestTokens.Secret,
            ["AUTH_SECRET_1"] = "rotation-secret-one-0123456789-abcdefghij",
            ["AUTH_SECRET_3"] = "rotation-secret-three-0123456789-abcdefgh",
        };
        var options = new LiveUpdatesOptions { AdditionalAuthSecrets = ["rotation-secret-three-0123456789-abcdefgh"] };

        new EnvironmentOptionsSetup(name => variables.GetValueOrDefault(name)).Configure(options);

        Assert.Multiple(() =>
        {
            Assert.That(options.AuthSecret, Is.EqualTo(TestTokens.Secret));
            Assert.That(options.AdditionalAuthSecrets, Is.EqualTo(new[] { "rotation-secret-three-0123456789-abcdefgh", "rotation-secret-one-0123456789-abcdefghij" }), "no repeats");
        });
    }

    [Test]
    public void Environment_ShortRotationSecret_IsReportedAtStart()
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.AuthSecret = TestTokens.Secret);
        ReplaceEnvironment(services, new() { ["AUTH_SECRET_2"] = "short" });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value);

        Assert.That(ex!.Message, Does.Contain("LiveUpdates:AdditionalAuthSecrets:0 (environment variables AUTH_SECRET_1..3 add here) is 5 bytes long"));
    }

    [Test]
    public void Configuration_SecretAndCookieLists_AreBound_CookieNamesAddToTheDefaults()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveUpdates:AuthSecret"] = TestTokens.Secret,
            ["LiveUpdates:AdditionalAuthSecrets:0"] = TestTokens.OtherSecret,
            ["LiveUpdates:SessionCookieNames:0"] = "my-dashboard.session-token",
        }).Build();
        var services = new ServiceCollection();
        services.AddLiveUpdates(configuration.GetSection("LiveUpdates"));
        ReplaceEnvironment(services, new());
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;

        Assert.Multiple(() =>
        {
            Assert.That(options.AdditionalAuthSecrets, Is.EqualTo(new[] { TestTokens.OtherSecret }));
            // The configuration binder appends to a list it finds filled; the README says so.
            Assert.That(options.SessionCookieNames, Is.EqualTo(new[] { "authjs.session-token", "__Secure-authjs.session-token", "my-dashboard.session-token" }));
        });
    }

    [Test]
    public void AddLiveUpdates_DefaultTokenValidator_IsTheSessionTokenValidator()
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.AuthSecret = TestTokens.Secret);
        ReplaceEnvironment(services, new());
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<LiveUpdates.Security.ITokenValidator>(), Is.TypeOf<LiveUpdates.Internal.Security.SessionTokenValidator>());
    }

    [TestCase("abc")]
    [TestCase("0")]
    [TestCase("70000")]
    [TestCase("-1")]
    public void Environment_MalformedPort_IsReportedAtStart(string value)
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.AuthSecret = TestTokens.Secret);
        ReplaceEnvironment(services, new() { ["WS_PORT"] = value });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value);

        Assert.That(ex!.Message, Does.Contain($"Environment variable WS_PORT is '{value}'; set it to a TCP port between 1 and 65535"));
    }

    private static void ReplaceEnvironment(IServiceCollection services, Dictionary<string, string> variables)
    {
        var index = services.ToList().FindIndex(d => d.ImplementationType == typeof(EnvironmentOptionsSetup));
        services[index] = ServiceDescriptor.Singleton<IConfigureOptions<LiveUpdatesOptions>>(
            new EnvironmentOptionsSetup(name => variables.GetValueOrDefault(name)));
    }

    private sealed class SamplePlugin(IBroadcaster broadcaster)
    {
        public IBroadcaster Broadcaster { get; } = broadcaster;
    }
}
