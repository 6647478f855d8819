using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class LiveUpdatesOptionsValidatorTests
{
    [Test]
    public void Validate_Defaults_WithASecret_Succeed() =>
        Assert.That(Validate(new LiveUpdatesOptions { AuthSecret = TestTokens.Secret }).Succeeded, Is.True);

    private static IEnumerable<TestCaseData> Invalid()
    {
        yield return Case(o => o.AuthSecret = null, "LiveUpdates:AuthSecret (environment variable AUTH_SECRET) is not set", "openssl rand -base64 32");
        yield return Case(o => o.AuthSecret = "too-short", "is 9 bytes long; it must be at least 32 bytes");
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
        var options = new LiveUpdatesOptions { AuthSecret = TestTokens.Secret };
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
            AuthSecret = TestTokens.Secret,
            AdditionalAuthSecrets = [TestTokens.OtherSecret],
            SessionCookieNames = ["my-dashboard.session-token"],
        }).Succeeded, Is.True);

    [Test]
    public void Validate_InfiniteIdleTimeout_TurnsTheCheckOff() =>
        Assert.That(Validate(new LiveUpdatesOptions { AuthSecret = TestTokens.Secret, IdleTimeout = Timeout.InfiniteTimeSpan }).Succeeded, Is.True);

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(LiveUpdatesOptions options) =>
        new LiveUpdatesOptionsValidator().Validate(null, options);

    private static TestCaseData Case(Action<LiveUpdatesOptions> change, params string[] expected) =>
        new TestCaseData(change, expected).SetArgDisplayNames(expected[0]);
}
