using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// A real ASP.NET Core app on Kestrel, on a free loopback port, serving LiveUpdates with
/// <c>AddLiveUpdates().UseAspNetCore()</c> and <c>app.MapLiveUpdates("/live")</c>; over TLS with a certificate when given one.
/// </summary>
internal sealed class KestrelTestServer : ILiveServer
{
    public const string Pattern = "/live";

    private readonly WebApplication _app;
    private readonly X509Certificate2? _certificate;

    private KestrelTestServer(WebApplication app, Uri uri, X509Certificate2? certificate)
    {
        _app = app;
        _certificate = certificate;
        Uri = uri;
        Manager = app.Services.GetRequiredService<WebSocketManager>();
        Options = app.Services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;
    }

    public WebSocketManager Manager { get; }

    public LiveUpdatesOptions Options { get; }

    public Uri Uri { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Builds the app as a host would, the endpoint not yet mapped.</summary>
    public static WebApplication Build(Action<LiveUpdatesOptions>? configure = null, X509Certificate2? certificate = null, Action<WebApplicationBuilder>? configureBuilder = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        if (TestServer.LoggerFactory is not null)
        {
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "HH:mm:ss.fff ").SetMinimumLevel(LogLevel.Debug);
        }

        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen =>
        {
            if (certificate is not null)
            {
                listen.UseHttps(certificate);
            }
        }));
        builder.Services.AddLiveUpdates(o =>
        {
            o.ConnectionTokenKey = TestTokens.Secret;
            configure?.Invoke(o);
        }).UseAspNetCore();
        configureBuilder?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>Builds and starts the app; <paramref name="configureApp"/> adds middleware before the endpoint is mapped (e.g. forwarded headers).</summary>
    public static async Task<KestrelTestServer> StartAsync(Action<LiveUpdatesOptions>? configure = null, X509Certificate2? certificate = null, Action<WebApplication>? configureApp = null, ILoggerProvider? logs = null)
    {
        var app = Build(configure, certificate, logs is null ? null : b => b.Logging.AddProvider(logs));
        configureApp?.Invoke(app);
        app.MapLiveUpdates(Pattern);
        await Wait.ForAsync(app.StartAsync(), "web app start");
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var uri = new UriBuilder(address) { Scheme = certificate is null ? "ws" : "wss", Path = Pattern }.Uri;
        return new KestrelTestServer(app, uri, certificate);
    }

    public void ConfigureClient(ClientWebSocketOptions options)
    {
        if (_certificate is { } trusted)
        {
            options.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && certificate.GetCertHashString() == trusted.GetCertHashString();
        }
    }

    public Task StopAsync() => _app.StopAsync();

    public async Task<TestClient> ConnectAsync() => await TestClient.ConnectAsync(Uri, configure: ConfigureClient);

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

    public Task FlushAsync() => Wait.ForAsync(Manager.FlushAsync(), "dispatcher flush");

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
