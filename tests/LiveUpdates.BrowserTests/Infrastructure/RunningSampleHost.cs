using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Data;
using LiveUpdates.SampleHost.Hosting;
using Microsoft.AspNetCore.Builder;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LiveUpdates.BrowserTests.Infrastructure;

/// <summary>
/// The sample host, in-process, on fixed ports chosen once: <see cref="RestartAsync"/> brings it back on the same
/// API and WebSocket ports with the same connection-token key and the same database, as a bot process restart would.
/// </summary>
internal sealed class RunningSampleHost : IAsyncDisposable
{
    /// <summary>The dashboards' own NextAuth secret (AUTH_SECRET): the Next.js apps get it, the host does not.</summary>
    public const string Secret = "browser-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz";

    /// <summary>The host's connection-token key (LIVEUPDATES_TOKEN_KEY), shared with the Next.js apps that mint tokens.</summary>
    public const string TokenKey = "browser-test-connection-token-key-0123456789-abcdefgh";

    private readonly TimeSpan _autoModInterval;
    private readonly string[] _extraArguments;

    private RunningSampleHost(SampleTransport transport, TimeSpan autoModInterval, string[] extraArguments)
    {
        Transport = transport;
        _autoModInterval = autoModInterval;
        _extraArguments = extraArguments;
        ApiPort = Ports.GetFree();
        WsPort = transport == SampleTransport.OnePort ? ApiPort : Ports.GetFree();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{ApiPort}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public int ApiPort { get; }

    /// <summary>The WebSocket's port: the API's own in one-port mode.</summary>
    public int WsPort { get; }

    /// <summary>How the host serves the WebSocket.</summary>
    public SampleTransport Transport { get; }

    /// <summary>The WebSocket as a browser reaches it (what a dashboard is configured with, e.g. <c>LIVEUPDATES_WS_URL</c>).</summary>
    public string WsUrl => Transport == SampleTransport.OnePort ? $"ws://127.0.0.1:{ApiPort}{OnePortMode.Path}" : $"ws://127.0.0.1:{WsPort}";

    /// <summary>The bot's "MongoDB": it outlives a restart.</summary>
    public SampleDatabase Database { get; } = new();

    public WebApplication? App { get; private set; }

    /// <summary>Talks to the sample API as a script (or another dashboard user) would.</summary>
    public HttpClient Http { get; }

    /// <param name="autoModInterval">How often the simulated bot raises an infraction (default: never by itself).</param>
    /// <param name="extraArguments">More configuration, e.g. <c>--LiveUpdates:AllowedOrigins:0=…</c> for a dashboard on another origin.</param>
    public static Task<RunningSampleHost> StartAsync(TimeSpan? autoModInterval = null, params string[] extraArguments) =>
        StartAsync(SampleTransport.HttpListener, autoModInterval, extraArguments);

    /// <param name="transport">The HttpListener on its own port (default), or one port (<c>SampleHost:OnePort=true</c>).</param>
    /// <param name="autoModInterval">How often the simulated bot raises an infraction (default: never by itself).</param>
    /// <param name="extraArguments">More configuration.</param>
    public static async Task<RunningSampleHost> StartAsync(SampleTransport transport, TimeSpan? autoModInterval = null, params string[] extraArguments)
    {
        var host = new RunningSampleHost(transport, autoModInterval ?? TimeSpan.Zero, extraArguments);
        await host.StartAppAsync();
        return host;
    }

    /// <summary>Whether <paramref name="url"/> (a socket a page opened) is this host's WebSocket: scheme, host, port and path.</summary>
    public bool IsItsWebSocket(string url) =>
        string.Equals(new Uri(url).GetLeftPart(UriPartial.Path).TrimEnd('/'), new Uri(WsUrl).GetLeftPart(UriPartial.Path).TrimEnd('/'), StringComparison.Ordinal);

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
                $"--LIVEUPDATES_TOKEN_KEY={TokenKey}",
                $"--SampleBot:AutoModInterval={_autoModInterval:c}",
                "--Logging:LogLevel:Default=Warning",
                "--SampleHost:Quiet=true",
                "--environment=Development", // the page's /dev/token exists only there
                $"--{OnePortMode.SwitchKey}={Transport == SampleTransport.OnePort}",
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
