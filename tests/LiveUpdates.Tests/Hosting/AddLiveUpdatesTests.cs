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

        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
        services.AddLiveUpdates();

        Assert.Multiple(() =>
        {
            Assert.That(services.Count(d => d.ServiceType == typeof(IHostedService)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ServiceType == typeof(WebSocketManager)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ServiceType == typeof(IBroadcaster)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ImplementationType == typeof(EnvironmentOptionsSetup)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ImplementationType == typeof(EnvironmentOptionsValidator)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ImplementationType == typeof(LiveUpdatesOptionsValidator)), Is.EqualTo(1));
        });
    }

    [Test]
    public void AddLiveUpdates_ReturnsABuilderOverTheSameServices()
    {
        var services = new ServiceCollection();

        var builder = services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);

        Assert.That(builder.Services, Is.SameAs(services));
    }

    [Test]
    public void APermissionStoreWithoutAMemberSource_FailsWhenTheServerIsBuilt_SayingWhatToAdd()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddMongoPermissionStore("mongodb://127.0.0.1:1/bot");
        using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<WebSocketManager>());

        Assert.That(error!.Message, Does.Contain("no IGuildMemberSource").And.Contain("Register an IGuildMemberSource"));
    }

    [Test]
    public void AddMongoPermissionStore_Twice_RegistersTheStoreOnce()
    {
        var services = new ServiceCollection();

        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret)
            .AddMongoPermissionStore("mongodb://127.0.0.1:1/bot")
            .AddMongoPermissionStore();

        Assert.Multiple(() =>
        {
            Assert.That(services.Count(d => d.ServiceType == typeof(LiveUpdates.Security.IDashboardPermissionStore)), Is.EqualTo(1));
            Assert.That(services.Count(d => d.ImplementationType == typeof(LiveUpdates.Mongo.Internal.MongoOptionsSetup)), Is.EqualTo(2), "one set-up, one validator");
        });
    }

    [Test]
    public void PluginServices_GetTheManagerAsIBroadcaster()
    {
        var services = new ServiceCollection().AddLogging();
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
        services.AddSingleton<SamplePlugin>();
        using var provider = services.BuildServiceProvider();

        var plugin = provider.GetRequiredService<SamplePlugin>();

        Assert.That(plugin.Broadcaster, Is.SameAs(provider.GetRequiredService<WebSocketManager>()));
    }

    [Test]
    public void AccessPolicy_WithoutAMemberSource_IsTheTokenClaimPolicy_WithOne_TheDashboardPermissionModel()
    {
        static (IServiceProvider Provider, LiveUpdatesOptions Options) Build(bool withMembers)
        {
            var services = new ServiceCollection();
            services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
            if (withMembers)
            {
                services.AddSingleton<LiveUpdates.Security.IGuildMemberSource, InMemoryMemberSource>();
            }

            var provider = services.BuildServiceProvider();
            return (provider, provider.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value);
        }

        var (without, withoutOptions) = Build(false);
        var (with, withOptions) = Build(true);

        Assert.Multiple(() =>
        {
            // null: the manager's built-in policy, the guilds listed in the token (TokenClaimGuildAccessPolicy).
            Assert.That(LiveUpdatesServiceCollectionExtensions.GetAccessPolicy(without, withoutOptions), Is.Null);
            Assert.That(LiveUpdatesServiceCollectionExtensions.GetAccessPolicy(with, withOptions), Is.InstanceOf<LiveUpdates.Security.DashboardAccessPolicy>());
            Assert.That(with.GetService<LiveUpdates.Security.IDashboardPermissionStore>(), Is.Null, "no MongoDB added: the policy has no overrides");
        });
    }

    [Test]
    public void AccessPolicy_RegisteredByTheHost_Wins()
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
        var own = new Moq.Mock<LiveUpdates.Security.IGuildAccessPolicy>().Object;
        services.AddSingleton(own);
        services.AddSingleton<LiveUpdates.Security.IGuildMemberSource, InMemoryMemberSource>();
        using var provider = services.BuildServiceProvider();

        Assert.That(LiveUpdatesServiceCollectionExtensions.GetAccessPolicy(provider, new LiveUpdatesOptions()), Is.SameAs(own));
    }

    [Test]
    public void PermissionStore_WithAMongoConnectionString_IsTheMongoStore()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LiveUpdates:AuthSecret"] = TestTokens.Secret,
            ["LiveUpdates:AcceptSessionTokens"] = "true",
            ["LiveUpdates:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/bot",
        }).Build();
        var services = new ServiceCollection();
        services.AddLiveUpdates(configuration.GetSection("LiveUpdates"))
            .AddMongoPermissionStore(configuration.GetSection(LiveUpdates.Mongo.MongoPermissionStoreOptions.SectionName));
        ReplaceMongoEnvironment(services, new());
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<LiveUpdates.Security.IDashboardPermissionStore>(), Is.InstanceOf<LiveUpdates.Mongo.Internal.MongoDashboardPermissionStore>());
    }

    [Test]
    public void PermissionStore_MongodbUri_IsReadWhereTheStoreIsAdded_AndOverridesTheSection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionString"] = "mongodb://section:27017/bot",
            ["CacheDuration"] = "00:01:00",
        }).Build();
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddMongoPermissionStore(configuration);
        ReplaceMongoEnvironment(services, new() { ["MONGODB_URI"] = "mongodb://env:27017/bot" });
        using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<LiveUpdates.Mongo.MongoPermissionStoreOptions>>().Value;

        Assert.That((options.ConnectionString, options.CacheDuration), Is.EqualTo(("mongodb://env:27017/bot", TimeSpan.FromMinutes(1))));
    }

    [Test]
    public void PermissionStore_ConnectionStringInCode_WinsOverMongodbUri()
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddMongoPermissionStore("mongodb://code:27017/bot");
        ReplaceMongoEnvironment(services, new() { ["MONGODB_URI"] = "mongodb://env:27017/bot" });
        using var provider = services.BuildServiceProvider();

        Assert.That(provider.GetRequiredService<IOptions<LiveUpdates.Mongo.MongoPermissionStoreOptions>>().Value.ConnectionString, Is.EqualTo("mongodb://code:27017/bot"));
    }

    [Test]
    public void Host_MongoStoreAddedWithoutAConnectionString_FailsAtStartNamingTheSetting()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret).AddMongoPermissionStore(o => o.ConnectionString = null);
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("LiveUpdates:Mongo:ConnectionString (environment variable MONGODB_URI) is not set"));
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
            o.ConnectionTokenKey = TestTokens.Secret;
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
    public void Host_MissingKey_FailsAtStartWithAMessageThatSaysWhatToFix()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => (o.ConnectionTokenKey, o.AuthSecret) = (null, null)); // code runs last: this wins over the environment
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("LiveUpdates:ConnectionTokenKey (environment variable LIVEUPDATES_TOKEN_KEY) is not set").And.Contain("openssl rand -base64 32"));
    }

    [Test]
    public void Host_ConfiguredOnlyWithAuthSecret_FailsAtStart_SayingToSetAKeyOrAcceptSessionTokens()
    {
        // Before connection tokens a host needed only AUTH_SECRET; now session tokens are opt-in, and the message says so.
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o => (o.ConnectionTokenKey, o.AuthSecret) = (null, TestTokens.DashboardSecret));
        using var host = builder.Build();

        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.That(ex!.Message, Does.Contain("LiveUpdates:ConnectionTokenKey (environment variable LIVEUPDATES_TOKEN_KEY) is not set, and LiveUpdates:AuthSecret alone no longer lets dashboards in")
            .And.Contain("set LiveUpdates:AcceptSessionTokens to true"));
    }

    [Test]
    public void Host_ShortSecretAndBadPort_BothReported()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLiveUpdates(o =>
        {
            o.ConnectionTokenKey = "short";
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
            ["LiveUpdates:AcceptSessionTokens"] = "true",
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
    public void Environment_TokenKeyAuthSecretAndPort_AreApplied()
    {
        var options = new LiveUpdatesOptions();
        new EnvironmentOptionsSetup(name => name switch { "WS_PORT" => "3999", "AUTH_SECRET" => TestTokens.Secret, "LIVEUPDATES_TOKEN_KEY" => TestTokens.OtherSecret, _ => null }).Configure(options);

        Assert.Multiple(() =>
        {
            Assert.That(options.Port, Is.EqualTo(3999));
            Assert.That(options.ConnectionTokenKey, Is.EqualTo(TestTokens.OtherSecret));
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
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
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
            ["LiveUpdates:AcceptSessionTokens"] = "true",
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
            // The configuration binder appends to a list it finds filled; docs/configuration.md says so.
            Assert.That(options.SessionCookieNames, Is.EqualTo(new[] { "authjs.session-token", "__Secure-authjs.session-token", "my-dashboard.session-token" }));
        });
    }

    [Test]
    public async Task AddLiveUpdates_DefaultTokenValidator_WithAcceptSessionTokens_AcceptsAuthJsSessionTokens()
    {
        // No ITokenValidator registered: the manager builds its built-in one, which accepts Auth.js v5 session tokens when allowed.
        var port = Ports.GetFree();
        var services = new ServiceCollection();
        services.AddLiveUpdates(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = port;
            o.AuthSecret = TestTokens.Secret;
            o.AcceptSessionTokens = true;
            o.UserIdClaim = "discordId";
        });
        ReplaceEnvironment(services, new());
        await using var provider = services.BuildServiceProvider();
        Assert.That(provider.GetService<LiveUpdates.Security.ITokenValidator>(), Is.Null);
        var manager = provider.GetRequiredService<WebSocketManager>();
        await manager.StartAsync();

        await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"));
        await client.ExpectAsync("connected");
        var authenticated = await client.AuthenticateAsync(TestJwe.AuthJsV5(TestJwe.Claims(DateTimeOffset.UtcNow), TestTokens.Secret));

        Assert.That(authenticated.GetProperty("data").GetProperty("userId").GetString(), Is.EqualTo("123456789012345678"));
    }

    [TestCase("abc")]
    [TestCase("0")]
    [TestCase("70000")]
    [TestCase("-1")]
    public void Environment_MalformedPort_IsReportedAtStart(string value)
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
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
        index = services.ToList().FindIndex(d => d.ImplementationType == typeof(EnvironmentOptionsValidator));
        services[index] = ServiceDescriptor.Singleton<IValidateOptions<LiveUpdatesOptions>>(
            new EnvironmentOptionsValidator(name => variables.GetValueOrDefault(name)));
    }

    private static void ReplaceMongoEnvironment(IServiceCollection services, Dictionary<string, string> variables)
    {
        var index = services.ToList().FindIndex(d => d.ServiceType == typeof(IConfigureOptions<LiveUpdates.Mongo.MongoPermissionStoreOptions>) && d.ImplementationType == typeof(LiveUpdates.Mongo.Internal.MongoOptionsSetup));
        services[index] = ServiceDescriptor.Singleton<IConfigureOptions<LiveUpdates.Mongo.MongoPermissionStoreOptions>>(
            new LiveUpdates.Mongo.Internal.MongoOptionsSetup(name => variables.GetValueOrDefault(name)));
    }

    private sealed class SamplePlugin(IBroadcaster broadcaster)
    {
        public IBroadcaster Broadcaster { get; } = broadcaster;
    }
}
