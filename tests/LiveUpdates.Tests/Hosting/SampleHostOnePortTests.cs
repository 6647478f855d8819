using System.Net;
using System.Net.Sockets;
using LiveUpdates.SampleHost.Hosting;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Hosting;

/// <summary>
/// What only the sample's one-port mode does (<c>SampleHost:OnePort=true</c>): no second port, the socket beside the
/// page and the API, and client addresses from ASP.NET Core's forwarded headers. Everything the sample does in both
/// modes is in <see cref="SampleHostTests"/> and <see cref="SamplePluginsTests"/>, which run once per mode.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SampleHostOnePortTests
{
    [Test]
    public async Task OnePort_OpensNoHttpListenerPort_AndServesPageApiAndSocketOnTheApiPort()
    {
        var wsPort = Ports.GetFree();
        await using var sample = await RunningSample.StartAsync(SampleTransport.OnePort, $"--LiveUpdates:Port={wsPort}");
        var options = sample.App.Services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;

        using var page = await sample.Http.GetAsync("/");
        await using var client = await TestClient.ConnectAsync(sample.Ws);
        await client.ExpectAsync("connected");
        using var probe = new TcpClient();
        var refused = Assert.CatchAsync<SocketException>(() => probe.ConnectAsync(IPAddress.Loopback, wsPort));

        Assert.Multiple(() =>
        {
            Assert.That(options.HttpListenerEnabled, Is.False);
            Assert.That(page.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(sample.Ws.Port, Is.EqualTo(sample.Http.BaseAddress!.Port), "one port: the socket is on the API's port");
            Assert.That(sample.Ws.AbsolutePath, Is.EqualTo(OnePortMode.Path));
            Assert.That(refused?.SocketErrorCode, Is.EqualTo(SocketError.ConnectionRefused), "nothing listens on LiveUpdates:Port");
        });
    }

    [Test]
    public async Task OnePort_BehindAKnownProxy_TheClientAddressIsTheForwardedOne()
    {
        // The test itself is the proxy (127.0.0.1): /dev/token answers loopback callers only, so a request forwarded
        // for a public address is refused, and the socket of that address is counted as that address.
        await using var sample = await RunningSample.StartAsync(SampleTransport.OnePort, $"--{OnePortMode.KnownProxiesKey}:0=127.0.0.1");

        using var direct = await sample.Http.GetAsync("/dev/token");
        using var forwarded = new HttpRequestMessage(HttpMethod.Get, "/dev/token");
        forwarded.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var viaProxy = await sample.Http.SendAsync(forwarded);

        Assert.Multiple(() =>
        {
            Assert.That(direct.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(viaProxy.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the forwarded client is not on loopback");
        });
    }

    [Test]
    public async Task OnePort_FromAnUnknownProxy_XForwardedForIsIgnored()
    {
        await using var sample = await RunningSample.StartAsync(SampleTransport.OnePort, $"--{OnePortMode.KnownProxiesKey}:0=192.0.2.1");

        using var forwarded = new HttpRequestMessage(HttpMethod.Get, "/dev/token");
        forwarded.Headers.Add("X-Forwarded-For", "203.0.113.7");
        using var response = await sample.Http.SendAsync(forwarded);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), "127.0.0.1 is not a known proxy: its header is not believed");
    }
}
