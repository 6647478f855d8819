using LiveUpdates.Brokers;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>A real <see cref="WebSocketManager"/> on a free loopback port (its own HttpListener).</summary>
internal sealed class TestServer : ILiveServer
{
    private TestServer(WebSocketManager manager, LiveUpdatesOptions options)
    {
        Manager = manager;
        Options = options;
    }

    public WebSocketManager Manager { get; }

    public LiveUpdatesOptions Options { get; }

    public Uri Uri => new($"ws://127.0.0.1:{Options.Port}{Options.Path}");

    public static async Task<TestServer> StartAsync(
        Action<LiveUpdatesOptions>? configure = null,
        TimeProvider? timeProvider = null,
        ITokenValidator? tokenValidator = null,
        Func<LiveUpdatesOptions, IGuildAccessPolicy>? accessPolicy = null,
        IBroker? broker = null,
        ILoggerFactory? loggerFactory = null)
    {
        var options = new LiveUpdatesOptions
        {
            Host = "127.0.0.1",
            Port = Ports.GetFree(),
            ConnectionTokenKey = TestTokens.Secret,
        };
        configure?.Invoke(options);
        var manager = new WebSocketManager(options, tokenValidator, accessPolicy?.Invoke(options), broker, loggerFactory ?? LoggerFactory, timeProvider);
        await manager.StartAsync();
        return new TestServer(manager, options);
    }

    /// <summary>Set LIVEUPDATES_TEST_LOG=1 to see the server's debug log in the test output.</summary>
    public static ILoggerFactory? LoggerFactory { get; } = Environment.GetEnvironmentVariable("LIVEUPDATES_TEST_LOG") == "1"
        ? Microsoft.Extensions.Logging.LoggerFactory.Create(b => b.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(LogLevel.Debug))
        : null;

    public async Task<TestClient> ConnectAsync() => await TestClient.ConnectAsync(Uri);

    public void ConfigureClient(System.Net.WebSockets.ClientWebSocketOptions options)
    {
    }

    public Task StopAsync() => Manager.StopAsync();

    /// <summary>Connects, authenticates as <paramref name="userId"/> with access to <paramref name="guilds"/>, and subscribes to <paramref name="subscribe"/>.</summary>
    public async Task<TestClient> ConnectAuthenticatedAsync(string userId, string[] guilds, params string[] subscribe)
    {
        var client = await ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create(userId, guilds));
        foreach (var guild in subscribe)
        {
            await client.SubscribeAsync(guild);
        }

        return client;
    }

    /// <summary>Waits until every broadcast made so far has been handed to its recipients' queues.</summary>
    public Task FlushAsync() => Wait.ForAsync(Manager.FlushAsync(), "dispatcher flush");

    public async ValueTask DisposeAsync() => await Manager.DisposeAsync();
}
