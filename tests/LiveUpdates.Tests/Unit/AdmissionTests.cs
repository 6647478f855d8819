using System.Net;
using LiveUpdates.Internal.Admission;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class AdmissionTests
{
    private static readonly IPAddress Proxy = IPAddress.Parse("10.0.0.5");
    private static readonly IPAddress Client = IPAddress.Parse("127.0.0.1");

    private static AdmissionPolicy Policy(Action<LiveUpdatesOptions>? configure = null)
    {
        var options = new LiveUpdatesOptions { Path = "/live" };
        options.AllowedOrigins.Add("https://dash.example");
        options.TrustedProxies.Add(Proxy.ToString());
        configure?.Invoke(options);
        return new AdmissionPolicy(options);
    }

    private static AdmissionRequest Request(string path = "/live", bool webSocket = true, string? origin = "https://dash.example", IPAddress? remote = null, string? forwardedFor = null, bool running = true) =>
        new(path, webSocket, origin, remote ?? Client, forwardedFor, running);

    [TestCase("/live", HttpStatusCode.SwitchingProtocols)]
    [TestCase("/live/", HttpStatusCode.SwitchingProtocols)]
    [TestCase("/", HttpStatusCode.NotFound)]
    [TestCase("/live/x", HttpStatusCode.NotFound)]
    public void Path_IsMatchedWithOrWithoutATrailingSlash(string path, HttpStatusCode expected) =>
        Assert.That(Policy().Decide(Request(path: path)).Status, Is.EqualTo(expected));

    [Test]
    public void DecideRouted_StateThenOrigin_AndTheHostsAddressAsGiven_ForwardedForIsNotLookedAt()
    {
        var policy = Policy();
        Assert.Multiple(() =>
        {
            Assert.That(policy.DecideRouted(serverRunning: false, "https://evil.example", Client).Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(policy.DecideRouted(serverRunning: true, "https://evil.example", Client).Status, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(policy.DecideRouted(serverRunning: true, null, Client), Is.EqualTo(AdmissionResult.Admit("127.0.0.1")), "no Origin (not a browser) is admitted, as on the listener");
            Assert.That(policy.DecideRouted(serverRunning: true, "https://dash.example", Proxy), Is.EqualTo(AdmissionResult.Admit("10.0.0.5")), "a trusted proxy's address is not replaced: the host resolved it");
            Assert.That(policy.DecideRouted(serverRunning: true, "https://dash.example", null).Address, Is.EqualTo("unknown"));
        });
    }

    [Test]
    public void Refusals_InOrder_PathThenStateThenUpgradeThenOrigin()
    {
        var policy = Policy();
        Assert.Multiple(() =>
        {
            Assert.That(policy.Decide(Request(path: "/nope", running: false)).Status, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(policy.Decide(Request(running: false, webSocket: false)).Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(policy.Decide(Request(webSocket: false, origin: "https://evil.example")).Status, Is.EqualTo(HttpStatusCode.UpgradeRequired));
            Assert.That(policy.Decide(Request(origin: "https://evil.example")).Status, Is.EqualTo(HttpStatusCode.Forbidden));
            Assert.That(policy.Decide(Request(origin: "HTTPS://DASH.EXAMPLE")).IsAdmitted, Is.True, "origins compare case-insensitively");
            Assert.That(policy.Decide(Request(origin: null)).IsAdmitted, Is.True, "non-browser clients send no Origin");
        });
    }

    [Test]
    public void NoAllowList_AdmitsEveryOrigin() =>
        Assert.That(Policy(o => o.AllowedOrigins.Clear()).Decide(Request(origin: "https://anything.example")).IsAdmitted, Is.True);

    [Test]
    public void ClientAddress_IsTheLastForwardedHop_OnlyBehindATrustedProxy()
    {
        var policy = Policy();
        Assert.Multiple(() =>
        {
            Assert.That(policy.Decide(Request(remote: Proxy, forwardedFor: "1.1.1.1, 203.0.113.9")).Address, Is.EqualTo("203.0.113.9"));
            Assert.That(policy.Decide(Request(remote: Client, forwardedFor: "203.0.113.9")).Address, Is.EqualTo("127.0.0.1"), "an untrusted remote cannot choose its address");
            Assert.That(policy.Decide(Request(remote: Proxy, forwardedFor: "not-an-address")).Address, Is.EqualTo(Proxy.ToString()));
        });
    }

    [Test]
    public void ConnectionLimiter_CountsInTotalAndPerAddress_AndReleases()
    {
        var limiter = new ConnectionLimiter(maxConnections: 3, maxPerAddress: 2);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.TryAcquire("a").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("a").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("a").Status, Is.EqualTo(HttpStatusCode.TooManyRequests));
            Assert.That(limiter.TryAcquire("b").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("c").Status, Is.EqualTo(HttpStatusCode.ServiceUnavailable), "three in total");
        });

        limiter.Release("a");
        Assert.That(limiter.TryAcquire("c").IsAdmitted, Is.True, "a released slot is free again");
    }
}
