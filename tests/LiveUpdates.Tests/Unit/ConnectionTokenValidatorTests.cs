using LiveUpdates.Internal.Security;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Unit;

/// <summary>
/// The built-in validator (<see cref="DefaultTokenValidator"/>) with connection tokens: the format of docs/security.md,
/// what is refused with <c>TOKEN_WRONG_AUDIENCE</c>, and the session tokens it takes only when allowed.
/// </summary>
[TestFixture]
public sealed class ConnectionTokenValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private FakeTimeProvider _clock = null!;
    private LiveUpdatesOptions _options = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeTimeProvider(Now);
        _options = new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret, ClockSkew = TimeSpan.FromSeconds(30) };
    }

    [Test]
    public async Task ValidateAsync_ConnectionToken_UserIsSub_WithClaimsAndExpiry()
    {
        _options.UserIdClaim = "discordId"; // for session tokens only: a connection token's user is always sub
        var outcome = await Validate(TestTokens.Create("42", ["1", "2"], now: Now, lifetime: TimeSpan.FromMinutes(5)));

        Assert.That(outcome.IsValid, Is.True, outcome.Reason);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.User!.UserId, Is.EqualTo("42"));
            Assert.That(outcome.User.ExpiresAt, Is.EqualTo(Now.AddMinutes(5)));
            Assert.That(outcome.User.Claims.GetProperty("guilds").GetArrayLength(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task ValidateAsync_NumericSub_TokenUserMissing()
    {
        var token = TestTokens.Create("ignored", [], now: Now, userIdClaim: "unused", extraClaims: new Dictionary<string, object> { ["sub"] = 1234567890123456789 });

        AssertRefused(await Validate(token), LiveErrorCodes.TokenUserMissing, "not a JSON string");
    }

    [Test]
    public async Task ValidateAsync_WrongAudience_TokenWrongAudience()
    {
        var outcome = await Validate(TestTokens.Create("42", [], now: Now, audience: "another-service"));

        AssertRefused(outcome, LiveErrorCodes.TokenWrongAudience, "another audience");
    }

    [Test]
    public async Task ValidateAsync_NoAudience_TokenWrongAudience() =>
        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now, audience: null)), LiveErrorCodes.TokenWrongAudience, "another audience");

    [Test]
    public async Task ValidateAsync_ConfiguredAudience_IsTheOneRequired_AndAnArrayMayNameIt()
    {
        _options.ConnectionTokenAudience = "eu-bot";

        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now)), LiveErrorCodes.TokenWrongAudience, "another audience");
        Assert.That((await Validate(TestTokens.Create("42", [], now: Now, audience: "eu-bot"))).IsValid, Is.True);
        Assert.That((await Validate(TestTokens.Create("42", [], now: Now, audience: null, extraClaims: new Dictionary<string, object> { ["aud"] = new[] { "other", "eu-bot" } }))).IsValid, Is.True);
    }

    [Test]
    public async Task ValidateAsync_Issuer_IsCheckedOnlyWhenConfigured()
    {
        Assert.That((await Validate(TestTokens.Create("42", [], now: Now, issuer: "https://anyone"))).IsValid, Is.True, "not configured: not checked");

        _options.ConnectionTokenIssuer = "https://dashboard.example";

        Assert.That((await Validate(TestTokens.Create("42", [], now: Now, issuer: "https://dashboard.example"))).IsValid, Is.True);
        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now, issuer: "https://other.example")), LiveErrorCodes.TokenWrongAudience, "another issuer");
        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now)), LiveErrorCodes.TokenWrongAudience, "another issuer");
    }

    [TestCase("JWT")]
    [TestCase("at+jwt")]
    [TestCase(null)]
    public async Task ValidateAsync_SignedWithTheKeyButNotTypedAsAConnectionToken_TokenWrongAudience(string? type)
    {
        // A JWT made with this key for another purpose (or by a careless minting helper) is not a connection token.
        var outcome = await Validate(TestTokens.Create("42", [], now: Now, type: type));

        AssertRefused(outcome, LiveErrorCodes.TokenWrongAudience, "typ");
    }

    [Test]
    public async Task ValidateAsync_ConnectionTokenSignedWithTheDashboardsAuthSecret_TokenInvalid_EvenWithSessionTokensOn()
    {
        _options.AuthSecret = TestTokens.DashboardSecret;
        var forged = TestTokens.Create("42", ["1"], secret: TestTokens.DashboardSecret, now: Now);

        AssertRefused(await Validate(forged), LiveErrorCodes.TokenInvalid, "signature matches neither");

        _options.AcceptSessionTokens = true;
        AssertRefused(await Validate(forged), LiveErrorCodes.TokenInvalid, "signature matches neither");
    }

    [Test]
    public async Task ValidateAsync_UnsignedOrTamperedConnectionToken_TokenInvalid_BeforeTheAudienceIsRead()
    {
        AssertRefused(await Validate(TestTokens.Tamper(TestTokens.Create("42", [], now: Now, audience: "another-service"))), LiveErrorCodes.TokenInvalid, "signature");
        var unsigned = TestTokens.Create("42", [], now: Now);
        AssertRefused(await Validate(unsigned[..(unsigned.LastIndexOf('.') + 1)]), LiveErrorCodes.TokenInvalid, "unsigned");
    }

    [Test]
    public async Task ValidateAsync_PreviousKey_IsAccepted_ARemovedOneIsNot()
    {
        var minted = TestTokens.Create("42", [], secret: TestTokens.OtherSecret, now: Now);
        AssertRefused(await Validate(minted), LiveErrorCodes.TokenInvalid, "signature matches neither");

        _options.PreviousConnectionTokenKeys = [TestTokens.OtherSecret];

        Assert.That((await Validate(minted)).IsValid, Is.True, "minted with the previous key, during the rotation");
        Assert.That((await Validate(TestTokens.Create("42", [], now: Now))).IsValid, Is.True, "and the current key");
    }

    [Test]
    public async Task ValidateAsync_ExpiredOrWithoutExpiry_Refused()
    {
        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now.AddMinutes(-10), lifetime: TimeSpan.FromMinutes(5))), LiveErrorCodes.TokenExpired, "expired");
        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now, includeExpiry: false)), LiveErrorCodes.TokenInvalid, "no exp");
    }

    [Test]
    public async Task ValidateAsync_SessionTokens_RefusedUnlessAcceptSessionTokens()
    {
        _options.AuthSecret = TestTokens.DashboardSecret;
        var authJs = TestJwe.AuthJsV5(TestJwe.Claims(Now), TestTokens.DashboardSecret);
        var nextAuth = TestJwe.NextAuthV4(TestJwe.Claims(Now), TestTokens.DashboardSecret);
        var legacyJwt = TestTokens.Create("42", [], secret: TestTokens.DashboardSecret, now: Now, type: null, audience: null);

        AssertRefused(await Validate(authJs), LiveErrorCodes.TokenWrongAudience, "AcceptSessionTokens is off");
        AssertRefused(await Validate(nextAuth), LiveErrorCodes.TokenWrongAudience, "AcceptSessionTokens is off");
        AssertRefused(await Validate(legacyJwt), LiveErrorCodes.TokenInvalid, "signature matches neither");

        _options.AcceptSessionTokens = true;

        Assert.Multiple(async () =>
        {
            Assert.That((await Validate(authJs)).IsValid, Is.True, "Auth.js v5");
            Assert.That((await Validate(nextAuth)).IsValid, Is.True, "NextAuth v4");
            Assert.That((await Validate(legacyJwt)).IsValid, Is.True, "an HS256 session JWT");
            Assert.That((await Validate(TestTokens.Create("42", [], now: Now))).IsValid, Is.True, "connection tokens still");
        });
    }

    [Test]
    public async Task ValidateAsync_SessionTokensOnly_AConnectionToken_IsRefusedForWantOfAKey()
    {
        _options.ConnectionTokenKey = null;
        _options.AcceptSessionTokens = true;
        _options.AuthSecret = TestTokens.DashboardSecret;

        AssertRefused(await Validate(TestTokens.Create("42", [], now: Now)), LiveErrorCodes.TokenInvalid, "ConnectionTokenKey is not set");
    }

    [Test]
    public void Constructor_WithNeitherAKeyNorSessionTokens_Throws() =>
        Assert.Throws<InvalidOperationException>(() => _ = new DefaultTokenValidator(new LiveUpdatesOptions(), _clock));

    private static void AssertRefused(TokenValidationOutcome outcome, string code, string reason)
    {
        Assert.That(outcome.IsValid, Is.False);
        Assert.That(outcome.ErrorCode, Is.EqualTo(code), outcome.Reason);
        Assert.That(outcome.Reason, Does.Contain(reason));
    }

    private async Task<TokenValidationOutcome> Validate(string token) =>
        await new DefaultTokenValidator(_options, _clock).ValidateAsync(token, CancellationToken.None);
}
