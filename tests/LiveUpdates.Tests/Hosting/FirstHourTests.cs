using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Hosting;

/// <summary>
/// A bot developer's first hour (issue 24): the configuration mistakes the binder lets through fail at start-up with a
/// message naming the key and the fix, and a start-up summary says what runs. Configuration comes from JSON files as a
/// user writes them, read by the real binder through <c>AddLiveUpdates(IConfiguration)</c>.
/// </summary>
[TestFixture]
[NonParallelizable] // hosts set the process-wide Broadcast facade
public sealed class FirstHourTests
{
    private string _directory = null!;

    [SetUp]
    public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("liveupdates-config-").FullName;

    [TearDown]
    public void RemoveDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void AllowedOriginsAsAString_FailsStartUp_SayingItIsAList()
    {
        var ex = StartFails("""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "AllowedOrigins": "http://localhost:3000" } }""");

        Assert.That(ex.Message, Does.Contain("LiveUpdates:AllowedOrigins is the single value 'http://localhost:3000', but it is a list")
            .And.Contain("\"AllowedOrigins\": [\"http://localhost:3000\"]")
            .And.Contain("LiveUpdates__AllowedOrigins__0=http://localhost:3000"));
    }

    [Test]
    public void MisspeltKey_FailsStartUp_WithTheNearestSetting()
    {
        var ex = StartFails("""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "AllowedOrigin": [ "http://localhost:3000" ] } }""");

        Assert.That(ex.Message, Does.Contain("LiveUpdates:AllowedOrigin is not a LiveUpdates setting").And.Contain("did you mean AllowedOrigins?"));
    }

    [TestCase("\"60\"")]
    [TestCase("60")]
    public void TimeSpanAsABareNumber_FailsStartUp_WithTheFormat(string value)
    {
        var ex = StartFails($$"""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "IdleTimeout": {{value}} } }""");

        Assert.That(ex.Message, Does.Contain("LiveUpdates:IdleTimeout is '60', a bare number, which .NET reads as 60 days").And.Contain("'00:01:00'"));
    }

    [Test]
    public void SeveralErrors_AreJoinedWithoutAStrayFullStop()
    {
        var ex = StartFails("""{ "LiveUpdates": { "ConnectionTokenKey": "short", "Port": 99999, "ClockSkew": "01:00:00" } }""", keepPort: true);

        Assert.Multiple(() =>
        {
            Assert.That(ex.Failures.Count(), Is.GreaterThanOrEqualTo(3));
            Assert.That(ex.Message, Does.Not.Contain(".;"));
        });
    }

    [Test]
    public async Task AValidSectionWithThePackagesSubsections_Starts()
    {
        var logs = new CapturingLoggerProvider();
        using var host = Build("""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "AllowedOrigins": [ "https://dashboard.example" ], "IdleTimeout": "00:02:00", "Mongo": { "Database": "bot" }, "Redis": { "Url": "x" } } }""", logs);

        await host.StartAsync();
        await host.StopAsync();
    }

    [TestCase("0.0.0.0")]
    [TestCase("::")]
    public async Task EveryAddressSpelledAsOtherServersDo_ListensOnEveryAddress(string address)
    {
        var logs = new CapturingLoggerProvider();
        using var host = Build($$"""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "Host": "{{address}}" } }""", logs);
        await host.StartAsync();
        try
        {
            var manager = host.Services.GetRequiredService<WebSocketManager>();
            Assert.That(manager.Prefix, Does.StartWith("http://+:"));
            await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{Port(manager)}/"));
            await client.ExpectAsync("connected");
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Test]
    public async Task LocalhostHost_AcceptsAClientDialling127001()
    {
        var options = new LiveUpdatesOptions { Host = "localhost", Port = Ports.GetFree(), ConnectionTokenKey = TestTokens.Secret };
        await using var server = new WebSocketManager(options);
        await server.StartAsync();

        await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{options.Port}/"));
        await client.ExpectAsync("connected");
    }

    [TestCase("203.0.113.7")]
    [TestCase("no-such-host.invalid")]
    public async Task HostThatIsNotThisMachine_FailsWithAdviceOnTheHost(string host)
    {
        var options = new LiveUpdatesOptions { Host = host, Port = Ports.GetFree(), ConnectionTokenKey = TestTokens.Secret };
        await using var server = new WebSocketManager(options);

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => server.StartAsync());

        Assert.That(ex!.Message, Does.Contain($"LiveUpdates:Host is '{host}': set it to '+' for every address").And.Not.Contain("Another process"), ex.Message);
    }

    [Test]
    public async Task LoopbackTwinThatCannotBeBound_IsLeftOut_AndTheConfiguredHostServes()
    {
        var port = Ports.GetFree();
        using var other = new System.Net.HttpListener();
        other.Prefixes.Add($"http://localhost:{port}/"); // holds the twin's prefix, not the configured one
        other.Start();
        var logs = new CapturingLoggerProvider();
        var options = new LiveUpdatesOptions { Host = "127.0.0.1", Port = port, ConnectionTokenKey = TestTokens.Secret };
        await using var server = new WebSocketManager(options, loggerFactory: logs.CreateFactory());

        await server.StartAsync();

        var line = await logs.WaitForAsync(LogLevel.Information, "clients connect to");
        Assert.That(line.Message, Does.Contain($"ws://127.0.0.1:{port}/ only").And.Not.Contain($"ws://localhost:{port}/"), line.Message);
    }

    [Test]
    public async Task PortInUse_WithANamedHost_AdvisesOnThePortOnly()
    {
        await using var first = await TestServer.StartAsync();
        var options = new LiveUpdatesOptions { Host = "127.0.0.1", Port = first.Options.Port, ConnectionTokenKey = TestTokens.Secret };
        await using var second = new WebSocketManager(options);

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync());

        Assert.That(ex!.Message, Does.Contain("Another process may be using port").And.Not.Contain("LiveUpdates:Host is"), ex.Message);
    }

    [Test]
    public async Task StartUp_LogsWhatRuns_UrlsOriginsAccessBrokerAndChangedSettings()
    {
        var logs = new CapturingLoggerProvider();
        using var host = Build("""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "Host": "127.0.0.1", "AllowedOrigins": [ "https://dashboard.example" ], "MaxGuildsPerClient": 20, "IdleTimeout": "00:02:00" } }""", logs);

        await host.StartAsync();
        await host.StopAsync();

        var port = Port(host.Services.GetRequiredService<WebSocketManager>());
        var info = string.Join("\n", logs.At(LogLevel.Information).Select(e => e.Message));
        Assert.Multiple(() =>
        {
            Assert.That(info, Does.Contain($"clients connect to ws://127.0.0.1:{port}/ or ws://localhost:{port}/ only"));
            Assert.That(info, Does.Contain("LiveUpdates origins: only https://dashboard.example"));
            Assert.That(info, Does.Contain("LiveUpdates access: the guilds listed in the token's 'guilds' claim"));
            Assert.That(info, Does.Contain("LiveUpdates broker: in-memory, this process only"));
            Assert.That(info, Does.Contain("MaxGuildsPerClient=20 (default 10)").And.Contain("IdleTimeout=00:02:00 (default 00:01:00)"));
            Assert.That(info, Does.Not.Contain("SECRET").And.Not.Contain(TestTokens.Secret));
        });
    }

    [Test]
    public async Task MemberSourceWithoutAPermissionStore_WarnsWhoWillSeeWhat()
    {
        var logs = new CapturingLoggerProvider();
        using var host = Build("""{ "LiveUpdates": { "ConnectionTokenKey": "SECRET", "AllowedOrigins": [ "https://dashboard.example" ] } }""", logs,
            services => services.AddSingleton<IGuildMemberSource, InMemoryMemberSource>());

        await host.StartAsync();
        await host.StopAsync();

        var warning = logs.At(LogLevel.Warning).Select(e => e.Message).FirstOrDefault(m => m.StartsWith("LiveUpdates access:", StringComparison.Ordinal));
        Assert.That(warning, Is.Not.Null, "a warning at start-up");
        Assert.That(warning, Does.Contain("NO permission store").And.Contain("InMemoryMemberSource")
            .And.Contain("guild owners and administrators see every guild").And.Contain("every other member sees nothing")
            .And.Contain("'guilds' claim is not read").And.Contain(".AddMongoPermissionStore()"));
    }

    private static int Port(WebSocketManager manager) => int.Parse(manager.Prefix.Split(':')[2].TrimEnd('/'), System.Globalization.CultureInfo.InvariantCulture);

    private OptionsValidationException StartFails(string json, bool keepPort = false)
    {
        using var host = Build(json, new CapturingLoggerProvider(), keepPort: keepPort);
        var ex = Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());
        return ex!;
    }

    /// <summary>Writes <paramref name="json"/> as appsettings.json (SECRET stands for a valid secret) and builds a host over it.</summary>
    private IHost Build(string json, CapturingLoggerProvider logs, Action<IServiceCollection>? services = null, bool keepPort = false)
    {
        var file = Path.Combine(_directory, "appsettings.json");
        File.WriteAllText(file, json.Replace("SECRET", TestTokens.Secret, StringComparison.Ordinal));
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production", DisableDefaults = true });
        builder.Configuration.AddJsonFile(file);
        if (!keepPort)
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["LiveUpdates:Port"] = Ports.GetFree().ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        builder.Logging.ClearProviders().SetMinimumLevel(logs.MinimumLevel).AddProvider(logs);
        builder.Services.AddLiveUpdates(builder.Configuration.GetSection("LiveUpdates"));
        services?.Invoke(builder.Services);
        return builder.Build();
    }
}
