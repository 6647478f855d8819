using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Data;
using Microsoft.AspNetCore.Builder;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LiveUpdates.BrowserTests.Infrastructure;

/// <summary>
/// The sample host, in-process, on fixed ports chosen once: <see cref="RestartAsync"/> brings it back on the same
/// API and WebSocket ports with the same AUTH_SECRET and the same database, as a bot process restart would.
/// </summary>
internal sealed class RunningSampleHost : IAsyncDisposable
{
    public const string Secret = "browser-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

    private readonly TimeSpan _autoModInterval;
    private readonly string[] _extraArguments;

    private RunningSampleHost(TimeSpan autoModInterval, string[] extraArguments)
    {
        _autoModInterval = autoModInterval;
        _extraArguments = extraArguments;
        ApiPort = Ports.GetFree();
        WsPort = Ports.GetFree();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public int ApiPort { get; }

    public int WsPort { get; }

    /// <summary>The bot's "MongoDB": it outlives a restart.</summary>
    public SampleDatabase Database { get; } = new();

    public WebApplication? App { get; private set; }

    /// <summary>Talks to the sample API as a script (or another dashboard user) would.</summary>
    public HttpClient Http { get; }

    /// <param name="autoModInterval">How often the simulated bot raises an infraction (default: never by itself).</param>
    /// <param name="extraArguments">More configuration, e.g. <c>--LiveUpdates:AllowedOrigins:0=…</c> for a dashboard on another origin.</param>
    public static async Task<RunningSampleHost> StartAsync(TimeSpan? autoModInterval = null, params string[] extraArguments)
    {
        var host = new RunningSampleHost(autoModInterval ?? TimeSpan.Zero, extraArguments);
        await host.StartAppAsync();
        return host;
    }

    /// <summary>The dashboard page of <paramref name="guildId"/>.</summary>
    public string PageUrl(string guildId) => $"http://127.0.0.1:{ApiPort}/?guild={guildId}";

    public T Service<T>()
        where T : notnull => App!.Services.GetRequiredService<T>();

    /// <summary>Stops the host: every WebSocket gets 1001 and the API stops answering.</summary>
    public async Task StopAsync()
    {
        if (App is { } app)
        {
            App = null;
            await Wait.ForAsync(app.StopAsync(), "sample host stop", TimeSpan.FromSeconds(20));
            await app.DisposeAsync();
        }
    }

    /// <summary>Starts the host again on the same ports, secret and database.</summary>
    public Task RestartAsync() => StartAppAsync();

    private async Task StartAppAsync()
    {
        var app = SampleHostApp.Build(
            [
                $"--API_PORT={ApiPort}",
                $"--LiveUpdates:Port={WsPort}",
                "--LiveUpdates:Host=127.0.0.1",
                $"--AUTH_SECRET={Secret}",
                $"--SampleBot:AutoModInterval={_autoModInterval:c}",
                "--Logging:LogLevel:Default=Warning",
                "--SampleHost:Quiet=true",
                "--environment=Development", // the page's /dev/token exists only there
                .. _extraArguments,
            ],
            b => b.Services.AddSingleton(Database));
        await Wait.ForAsync(app.StartAsync(), "sample host start", TimeSpan.FromSeconds(20));
        App = app;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Http.Dispose();
    }
}
