using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Transports;

/// <summary>
/// The transport specification over a real Kestrel app (<c>UseAspNetCore()</c> + <c>MapLiveUpdates</c>), and what only
/// this transport has: TLS, the host's forwarded headers, and the start-up rules that pick one transport.
/// </summary>
[TestFixture]
public sealed class AspNetCoreTransportTests : TransportSpecification
{
    private const string GuildA = "111111111111111111";

    private protected override async Task<ILiveServer> StartServerCoreAsync(Action<LiveUpdatesOptions>? configure) =>
        await KestrelTestServer.StartAsync(configure);

    [Test]
    public async Task Wss_WithATestCertificate_AuthenticatesAndDeliversAnEvent()
    {
        using var certificate = CreateLoopbackCertificate();
        await using var server = await KestrelTestServer.StartAsync(certificate: certificate);
        Assert.That(server.Uri.Scheme, Is.EqualTo("wss"));

        await using var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        server.Manager.Broadcast(GuildA, "moderation:rule_created", new { id = 7 });
        var delivered = await client.ExpectAsync("moderation:rule_created");

        Assert.That(delivered.GetProperty("data").GetProperty("id").GetInt32(), Is.EqualTo(7));
    }

    [Test]
    public async Task Http2WebSocket_OverTls_AuthenticatesAndDeliversAnEvent()
    {
        using var certificate = CreateLoopbackCertificate();
        await using var server = await KestrelTestServer.StartAsync(certificate: certificate);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString();
        using var invoker = new HttpMessageInvoker(handler);

        await using var client = await TestClient.ConnectAsync(server.Uri, invoker: invoker, configure: o =>
        {
            o.HttpVersion = HttpVersion.Version20;
            o.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
            o.CollectHttpResponseDetails = true;
        });
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA]));
        await client.SubscribeAsync(GuildA);
        server.Manager.Broadcast(GuildA, "moderation:rule_created", new { id = 9 });
        var delivered = await client.ExpectAsync("moderation:rule_created");

        Assert.Multiple(() =>
        {
            Assert.That(((System.Net.WebSockets.ClientWebSocket)client.Socket).HttpStatusCode, Is.EqualTo(HttpStatusCode.OK), "an HTTP/2 extended CONNECT is answered 200 (HTTP/1.1's upgrade, 101)");
            Assert.That(delivered.GetProperty("data").GetProperty("id").GetInt32(), Is.EqualTo(9));
        });
    }

    [Test]
    public async Task Wss_WithAnUntrustedCertificate_DoesNotConnect()
    {
        using var certificate = CreateLoopbackCertificate();
        await using var server = await KestrelTestServer.StartAsync(certificate: certificate);

        using var socket = new System.Net.WebSockets.ClientWebSocket();
        var connect = socket.ConnectAsync(server.Uri, CancellationToken.None).WaitAsync(Wait.Default);

        Assert.That(async () => await connect, Throws.InstanceOf<System.Net.WebSockets.WebSocketException>(), "the client's own validation rejects the self-signed certificate");
    }

    [Test]
    public async Task UseAspNetCore_TheHttpListenerDoesNotStart()
    {
        var port = Ports.GetFree();
        await using var server = await KestrelTestServer.StartAsync(o => o.Port = port);

        Assert.Multiple(() =>
        {
            Assert.That(server.Options.HttpListenerEnabled, Is.False);
            Assert.That(server.Manager.Prefix, Is.Empty);
            Assert.That(server.Manager.IsRunning, Is.True);
        });
        using var probe = new TcpListener(IPAddress.Loopback, port);
        Assert.That(probe.Start, Throws.Nothing, $"port {port} is free: no HttpListener took it");
    }

    [Test]
    public async Task ARefusedOrigin_IsExplainedInTheLog_AsTheHttpListenerExplainsIt()
    {
        using var logs = new CapturingLoggerProvider();
        await using var server = await KestrelTestServer.StartAsync(o => o.AllowedOrigins.Add("https://dashboard.example"), logs: logs);

        using var refused = await TryConnectAsync(server, "https://evil.example");
        var line = await logs.WaitForAsync(Microsoft.Extensions.Logging.LogLevel.Information, "rule origin");

        Assert.Multiple(() =>
        {
            Assert.That(refused.HttpStatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(line.EventId.Id, Is.EqualTo(24));
            Assert.That(line.Message, Does.Contain("'https://evil.example' is not in LiveUpdates:AllowedOrigins"));
        });
    }

    [Test]
    public async Task NonWebSocketRequest_Gets426()
    {
        await using var server = await KestrelTestServer.StartAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync(new UriBuilder(server.Uri) { Scheme = "http" }.Uri).WaitAsync(Wait.Default);

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.UpgradeRequired));
            Assert.That(response.Headers.Upgrade.ToString(), Is.EqualTo("websocket"));
        });
    }

    [Test]
    public async Task ConnectionsPerAddress_BehindTheHostsForwardedHeaders_CountTheForwardedClient()
    {
        // Loopback is a known proxy by default: the host's UseForwardedHeaders sets RemoteIpAddress from X-Forwarded-For.
        await using var server = await KestrelTestServer.StartAsync(
            o => o.MaxConnectionsPerAddress = 1,
            configureApp: app => app.UseForwardedHeaders(new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor }));

        using var first = await TryConnectAsync(server, null, forwardedFor: "203.0.113.7");
        using var second = await TryConnectAsync(server, null, forwardedFor: "203.0.113.8");
        using var third = await TryConnectAsync(server, null, forwardedFor: "198.51.100.1, 203.0.113.7");

        Assert.Multiple(() =>
        {
            Assert.That(first.HttpStatusCode, Is.EqualTo(HttpStatusCode.SwitchingProtocols));
            Assert.That(second.HttpStatusCode, Is.EqualTo(HttpStatusCode.SwitchingProtocols), "another client behind the same proxy");
            Assert.That(third.HttpStatusCode, Is.EqualTo(HttpStatusCode.TooManyRequests), "the last hop names the client");
        });
    }

    [Test]
    public async Task MapLiveUpdates_WithoutUseAspNetCore_ThrowsNamingTheCall()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Services.AddLiveUpdates(o => o.ConnectionTokenKey = TestTokens.Secret);
        await using var app = builder.Build();

        Assert.That(() => app.MapLiveUpdates("/live"), Throws.InvalidOperationException.With.Message.Contains("UseAspNetCore()"));
    }

    [Test]
    public async Task UseAspNetCore_WithoutAMappedEndpoint_FailsStart()
    {
        await using var app = KestrelTestServer.Build();

        var start = app.StartAsync();

        Assert.That(async () => await start.WaitAsync(Wait.Default), Throws.InvalidOperationException.With.Message.Contains("app.MapLiveUpdates"));
    }

    [Test]
    public async Task UseAspNetCore_WithTrustedProxies_FailsStartNamingTheSetting()
    {
        await using var app = KestrelTestServer.Build(o => o.TrustedProxies.Add("10.0.0.1"));
        app.MapLiveUpdates("/live");

        var start = app.StartAsync();

        Assert.That(async () => await start.WaitAsync(Wait.Default), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("LiveUpdates:TrustedProxies").And.Message.Contains("KnownProxies"));
    }

    [Test]
    public void UseAspNetCore_Twice_RegistersOnce()
    {
        var services = new ServiceCollection();
        services.AddLiveUpdates().UseAspNetCore().UseAspNetCore();

        Assert.That(services.Count(d => d.ServiceType == typeof(Microsoft.Extensions.Hosting.IHostedService)), Is.EqualTo(2), "the server's hosted service and the transport check, once each");
    }

    [Test]
    public async Task Compression_Enabled_NegotiatesPerMessageDeflate_AndDeliversSmallAndLargeEventsIntact()
    {
        await using var server = await KestrelTestServer.StartAsync(o => o.EnableCompression = true);
        await using var client = await TestClient.ConnectAsync(server.Uri, configure: OfferDeflate);
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA]));
        await client.SubscribeAsync(GuildA);
        var large = string.Concat(Enumerable.Repeat("moderation rule text ", 500)); // ~10 KB, above the threshold

        server.Manager.Broadcast(GuildA, "moderation:rule_created", new { text = "small" });
        server.Manager.Broadcast(GuildA, "moderation:rule_created", new { text = large });
        var small = await client.ExpectAsync("moderation:rule_created");
        var big = await client.ExpectAsync("moderation:rule_created");

        Assert.Multiple(() =>
        {
            Assert.That(Extensions(client), Does.Contain("permessage-deflate"));
            Assert.That(small.GetProperty("data").GetProperty("text").GetString(), Is.EqualTo("small"));
            Assert.That(big.GetProperty("data").GetProperty("text").GetString(), Is.EqualTo(large));
        });
    }

    [Test]
    public async Task Compression_ByDefault_IsNotNegotiated()
    {
        await using var server = await KestrelTestServer.StartAsync();
        await using var client = await TestClient.ConnectAsync(server.Uri, configure: OfferDeflate);

        await client.ExpectAsync("connected");

        Assert.That(Extensions(client), Is.Empty);
    }

    [Test]
    public void Compression_OnTheHttpListener_IsRefusedNamingTheSetting()
    {
        var options = new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret, EnableCompression = true };

        Assert.That(() => new WebSocketManager(options), Throws.InstanceOf<OptionsValidationException>().With.Message.Contains("LiveUpdates:EnableCompression"));
    }

    private static void OfferDeflate(System.Net.WebSockets.ClientWebSocketOptions options)
    {
        options.DangerousDeflateOptions = new System.Net.WebSockets.WebSocketDeflateOptions();
        options.CollectHttpResponseDetails = true;
    }

    private static string Extensions(TestClient client) =>
        ((System.Net.WebSockets.ClientWebSocket)client.Socket).HttpResponseHeaders?.TryGetValue("Sec-WebSocket-Extensions", out var values) == true
            ? string.Join(",", values)
            : string.Empty;

    /// <summary>A self-signed certificate for localhost and 127.0.0.1, made in the test (no machine store involved).</summary>
    private static X509Certificate2 CreateLoopbackCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Kestrel needs the private key in a form SslStream can use on every platform: round-trip through PKCS#12.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
    }
}
