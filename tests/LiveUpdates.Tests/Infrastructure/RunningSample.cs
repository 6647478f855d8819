using LiveUpdates.SampleHost;
using Microsoft.AspNetCore.Builder;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>The sample host started in-process on free ports, quiet, with the simulated bot off, and an HTTP client for its API.</summary>
internal sealed class RunningSample : IAsyncDisposable
{
    private RunningSample(WebApplication app, int wsPort)
    {
        App = app;
        WsPort = wsPort;
        Http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()), Timeout = TimeSpan.FromSeconds(10) };
        Ws = new Uri($"ws://127.0.0.1:{wsPort}/");
    }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    public Uri Ws { get; }

    public int WsPort { get; }

    public static async Task<RunningSample> StartAsync()
    {
        var wsPort = Ports.GetFree();
        var app = SampleHostApp.Build(
        [
            "--API_PORT=0",
            $"--LiveUpdates:Port={wsPort}",
            "--LiveUpdates:Host=127.0.0.1",
            $"--AUTH_SECRET={TestTokens.Secret}",
            "--Logging:LogLevel:Default=Warning",
            "--SampleHost:Quiet=true",
            "--environment=Development", // the /dev routes exist only there
            "--SampleBot:AutoModInterval=00:00:00", // no simulated infractions in the middle of a test
        ]);
        await app.StartAsync();
        return new RunningSample(app, wsPort);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
