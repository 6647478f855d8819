using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Hosting;
using Microsoft.AspNetCore.Builder;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>The sample host started in-process on free ports, quiet, with the simulated bot off, and an HTTP client for its API.</summary>
internal sealed class RunningSample : IAsyncDisposable
{
    private RunningSample(WebApplication app, int wsPort, SampleTransport transport)
    {
        App = app;
        var api = new Uri(app.Urls.Single());
        Http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(10) };
        WsPort = transport == SampleTransport.OnePort ? api.Port : wsPort;
        Ws = transport == SampleTransport.OnePort ? new Uri($"ws://127.0.0.1:{api.Port}{OnePortMode.Path}") : new Uri($"ws://127.0.0.1:{wsPort}/");
    }

    public WebApplication App { get; }

    public HttpClient Http { get; }

    /// <summary>Where the sample's WebSocket is (the API's own port in one-port mode).</summary>
    public Uri Ws { get; }

    public int WsPort { get; }

    public static async Task<RunningSample> StartAsync(SampleTransport transport = SampleTransport.HttpListener, params string[] extraArguments)
    {
        var wsPort = Ports.GetFree();
        var app = SampleHostApp.Build(
        [
            "--API_PORT=0",
            $"--LiveUpdates:Port={wsPort}",
            "--LiveUpdates:Host=127.0.0.1",
            $"--LIVEUPDATES_TOKEN_KEY={TestTokens.Secret}",
            "--Logging:LogLevel:Default=Warning",
            "--SampleHost:Quiet=true",
            "--environment=Development", // the /dev routes exist only there
            "--SampleBot:AutoModInterval=00:00:00", // no simulated infractions in the middle of a test
            $"--{OnePortMode.SwitchKey}={transport == SampleTransport.OnePort}",
            .. extraArguments,
        ]);
        await app.StartAsync();
        return new RunningSample(app, wsPort, transport);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
