using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class LiveUpdatesOptionsValidatorTests
{
    [Test]
    public void Validate_Defaults_WithAConnectionTokenKey_Succeed() =>
        Assert.That(Validate(new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret }).Succeeded, Is.True);

    [Test]
    public void Validate_SessionTokensOnly_WithAnAuthSecret_Succeed() =>
        Assert.That(Validate(new LiveUpdatesOptions { AcceptSessionTokens = true, AuthSecret = TestTokens.DashboardSecret }).Succeeded, Is.True);

    private static IEnumerable<TestCaseData> Invalid()
    {
        yield return Case(o => o.ConnectionTokenKey = null, "LiveUpdates:ConnectionTokenKey (environment variable LIVEUPDATES_TOKEN_KEY) is not set", "openssl rand -base64 32");
        yield return Case(o => (o.ConnectionTokenKey, o.AuthSecret) = (null, TestTokens.DashboardSecret), "AuthSecret alone no longer lets dashboards in", "set LiveUpdates:AcceptSessionTokens to true");
        yield return Case(o => o.ConnectionTokenKey = "too-short", "LiveUpdates:ConnectionTokenKey (environment variable LIVEUPDATES_TOKEN_KEY) is 9 bytes long; it must be at least 32 bytes");
        yield return Case(o => o.PreviousConnectionTokenKeys = ["short"], "LiveUpdates:PreviousConnectionTokenKeys:0 is shorter than 32 bytes");
        yield return Case(o => o.PreviousConnectionTokenKeys = null!, "LiveUpdates:PreviousConnectionTokenKeys is null");
        yield return Case(o => o.AuthSecret = TestTokens.Secret, "LiveUpdates:ConnectionTokenKey (or one of LiveUpdates:PreviousConnectionTokenKeys) equals the dashboard's AUTH_SECRET");
        yield return Case(o => (o.PreviousConnectionTokenKeys, o.AdditionalAuthSecrets) = ([TestTokens.OtherSecret], [TestTokens.OtherSecret]), "equals the dashboard's AUTH_SECRET");
        yield return Case(o => o.ConnectionTokenAudience = " ", "LiveUpdates:ConnectionTokenAudience is empty");
        yield return Case(o => o.ConnectionTokenIssuer = "", "LiveUpdates:ConnectionTokenIssuer is blank");
        yield return Case(o => o.AcceptSessionTokens = true, "LiveUpdates:AuthSecret (environment variable AUTH_SECRET) is not set, but LiveUpdates:AcceptSessionTokens is on");
        yield return Case(o => (o.AcceptSessionTokens, o.AuthSecret) = (true, "too-short"), "LiveUpdates:AuthSecret (environment variable AUTH_SECRET) is 9 bytes long; it must be at least 32 bytes");
        yield return Case(o => o.Port = 0, "LiveUpdates:Port (environment variable WS_PORT) is 0; set a TCP port between 1 and 65535");
        yield return Case(o => o.Port = 70000, "LiveUpdates:Port (environment variable WS_PORT) is 70000");
        yield return Case(o => o.Host = "", "LiveUpdates:Host is ''");
        yield return Case(o => o.Path = "ws", "LiveUpdates:Path is 'ws'; set a URL path starting with '/'");
        yield return Case(o => o.UserIdClaim = " ", "LiveUpdates:UserIdClaim is empty");
        yield return Case(o => o.AuthTimeout = TimeSpan.Zero, "LiveUpdates:AuthTimeout is 00:00:00; set a positive time span");
        yield return Case(o => o.IdleTimeout = TimeSpan.FromSeconds(-5), "LiveUpdates:IdleTimeout is -00:00:05");
        yield return Case(o => o.ClockSkew = TimeSpan.FromHours(1), "LiveUpdates:ClockSkew is 01:00:00");
        yield return Case(o => o.SendQueueCapacity = 0, "LiveUpdates:SendQueueCapacity is 0; set a value of at least 1");
        yield return Case(o => o.MaxInboundMessageBytes = 10, "LiveUpdates:MaxInboundMessageBytes is 10");
        yield return Case(o => o.MaxBatchBytes = -1, "LiveUpdates:MaxBatchBytes is -1; set a value of at least 0");
        yield return Case(o => o.AdditionalAuthSecrets = ["short-secret"], "LiveUpdates:AdditionalAuthSecrets:0 (environment variables AUTH_SECRET_1..3 add here) is 12 bytes long; it must be at least 32 bytes", "openssl rand -base64 32");
        yield return Case(o => o.AdditionalAuthSecrets = [TestTokens.OtherSecret, ""], "LiveUpdates:AdditionalAuthSecrets:1 is empty; remove it");
        yield return Case(o => o.AdditionalAuthSecrets = null!, "LiveUpdates:AdditionalAuthSecrets is null");
        yield return Case(o => o.SessionCookieNames = [], "LiveUpdates:SessionCookieNames is empty; list the dashboard's Auth.js session cookie names");
        yield return Case(o => o.SessionCookieNames = null!, "LiveUpdates:SessionCookieNames is empty");
        yield return Case(o => o.SessionCookieNames = ["authjs.session-token", " "], "LiveUpdates:SessionCookieNames:1 is empty");
        yield return Case(o => o.ReceiveBufferBytes = 128 * 1024, "LiveUpdates:ReceiveBufferBytes (131072) is larger than LiveUpdates:MaxInboundMessageBytes");
    }

    [TestCaseSource(nameof(Invalid))]
    public void Validate_Invalid_FailsWithAMessageThatNamesTheSetting(Action<LiveUpdatesOptions> change, string[] expected)
    {
        var options = new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret };
        change(options);

        var result = Validate(options);

        Assert.That(result.Failed, Is.True);
        foreach (var part in expected)
        {
            Assert.That(result.FailureMessage, Does.Contain(part));
        }
    }

    [Test]
    public void Validate_RotationSecretsAndCustomCookieNames_Succeed() =>
        Assert.That(Validate(new LiveUpdatesOptions
        {
            ConnectionTokenKey = TestTokens.Secret,
            PreviousConnectionTokenKeys = [TestTokens.OtherSecret],
            AcceptSessionTokens = true,
            AuthSecret = TestTokens.DashboardSecret,
            AdditionalAuthSecrets = ["another-dashboard-secret-0123456789-abcdefghij"],
            SessionCookieNames = ["my-dashboard.session-token"],
        }).Succeeded, Is.True);

    [Test]
    public void Validate_InfiniteIdleTimeout_TurnsTheCheckOff() =>
        Assert.That(Validate(new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret, IdleTimeout = Timeout.InfiniteTimeSpan }).Succeeded, Is.True);

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(LiveUpdatesOptions options) =>
        new LiveUpdatesOptionsValidator().Validate(null, options);

    private static TestCaseData Case(Action<LiveUpdatesOptions> change, params string[] expected) =>
        new TestCaseData(change, expected).SetArgDisplayNames(expected[0]);
}
