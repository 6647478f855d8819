using LiveUpdates.Internal.Security;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class HmacJwtTokenValidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 26, 12, 0, 0, TimeSpan.Zero);
    private FakeTimeProvider _clock = null!;
    private LiveUpdatesOptions _options = null!;

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeTimeProvider(Now);
        _options = new LiveUpdatesOptions { AuthSecret = TestTokens.Secret, ClockSkew = TimeSpan.FromSeconds(30) };
    }

    [Test]
    public async Task ValidateAsync_ValidToken_ReturnsUserWithClaimsAndExpiry()
    {
        var token = TestTokens.Create("42", ["1", "2"], now: Now, lifetime: TimeSpan.FromMinutes(10));

        var outcome = await Validate(token);

        Assert.That(outcome.IsValid, Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.User!.UserId, Is.EqualTo("42"));
            Assert.That(outcome.User.ExpiresAt, Is.EqualTo(Now.AddMinutes(10)));
            Assert.That(outcome.User.Claims.GetProperty("guilds").GetArrayLength(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task ValidateAsync_ConfiguredUserIdClaim_IsUsed_AndNumericIdsAreRead()
    {
        _options.UserIdClaim = "discordId";
        var token = TestTokens.Create("ignored-uuid", [], now: Now, extraClaims: new Dictionary<string, object> { ["discordId"] = 9007199254740991L });

        var outcome = await Validate(token);

        Assert.That(outcome.User?.UserId, Is.EqualTo("9007199254740991"));
    }

    [Test]
    public async Task ValidateAsync_ANumericUserIdAbove2To53Minus1_IsRefused_ItMayHaveBeenRoundedByJavaScript()
    {
        // Issue 20 changed this: a snowflake written as a JSON number (123456789012345678 once read as-is) may name
        // another user when JavaScript made the token; ids that large must be strings.
        _options.UserIdClaim = "discordId";
        var token = TestTokens.Create("ignored-uuid", [], now: Now, extraClaims: new Dictionary<string, object> { ["discordId"] = 123456789012345678L });

        var outcome = await Validate(token);

        Assert.That(outcome.ErrorCode, Is.EqualTo(LiveErrorCodes.TokenInvalid));
    }

    [Test]
    public async Task ValidateAsync_ExpiredWithinSkew_Accepted_BeyondSkew_TokenExpired()
    {
        var token = TestTokens.Create("42", [], now: Now, lifetime: TimeSpan.FromMinutes(1));

        _clock.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(29));
        Assert.That((await Validate(token)).IsValid, Is.True);

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.That((await Validate(token)).ErrorCode, Is.EqualTo(LiveErrorCodes.TokenExpired));
    }

    [Test]
    public async Task ValidateAsync_NotBeforeInTheFuture_TokenNotYetValid()
    {
        var token = TestTokens.Create("42", [], now: Now, notBefore: Now.AddMinutes(5), lifetime: TimeSpan.FromMinutes(10));
        Assert.That((await Validate(token)).ErrorCode, Is.EqualTo(LiveErrorCodes.TokenNotYetValid));
    }

    [Test]
    public async Task ValidateAsync_NoExpiry_TokenInvalid()
    {
        var token = TestTokens.Create("42", [], now: Now, includeExpiry: false);
        Assert.That((await Validate(token)).ErrorCode, Is.EqualTo(LiveErrorCodes.TokenInvalid));
    }

    [Test]
    public async Task ValidateAsync_MissingUserClaim_TokenUserMissing()
    {
        var token = TestTokens.Create("42", [], now: Now, userIdClaim: "other");
        Assert.That((await Validate(token)).ErrorCode, Is.EqualTo(LiveErrorCodes.TokenUserMissing));
    }

    [Test]
    public async Task ValidateAsync_SignedWithAnAdditionalSecret_Accepted_WithoutIt_TokenInvalid()
    {
        var token = TestTokens.Create("42", [], secret: TestTokens.OtherSecret, now: Now);

        Assert.That((await Validate(token)).ErrorCode, Is.EqualTo(LiveErrorCodes.TokenInvalid));

        _options.AdditionalAuthSecrets = [TestTokens.OtherSecret];
        Assert.That((await Validate(token)).User?.UserId, Is.EqualTo("42"));
    }

    [TestCase("")]
    public async Task ValidateAsync_Empty_TokenMissing(string token) =>
        Assert.That((await Validate(token)).ErrorCode, Is.EqualTo(LiveErrorCodes.TokenMissing));

    private static IEnumerable<TestCaseData> Refused()
    {
        yield return new TestCaseData(TestTokens.Create("42", [], secret: TestTokens.OtherSecret, now: Now)).SetName("ValidateAsync_WrongSecret_TokenInvalid");
        yield return new TestCaseData(TestTokens.Tamper(TestTokens.Create("42", [], now: Now))).SetName("ValidateAsync_TamperedSignature_TokenInvalid");
        yield return new TestCaseData(TestTokens.Unsigned("42", [])).SetName("ValidateAsync_AlgNone_TokenInvalid");
        yield return new TestCaseData("a.b.c").SetName("ValidateAsync_ThreeGarbageParts_TokenInvalid");
        yield return new TestCaseData("eyJhbGciOiJIUzI1NiJ9").SetName("ValidateAsync_HeaderOnly_TokenInvalid");
        yield return new TestCaseData(new string('x', 100_000)).SetName("ValidateAsync_Oversized_TokenInvalid");
        yield return new TestCaseData("\u0000\u0001\uffff").SetName("ValidateAsync_ControlCharacters_TokenInvalid");
    }

    [TestCaseSource(nameof(Refused))]
    public async Task ValidateAsync_Refused_TokenInvalid(string token)
    {
        var outcome = await Validate(token);
        Assert.Multiple(() =>
        {
            Assert.That(outcome.IsValid, Is.False);
            Assert.That(outcome.ErrorCode, Is.EqualTo(LiveErrorCodes.TokenInvalid));
            Assert.That(outcome.Message, Is.EqualTo("The token is invalid."));
        });
    }

    [Test]
    public async Task ValidateAsync_ACritHeader_IsRefused_AsOnTheJwePath()
    {
        var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
        var token = handler.CreateToken(new Microsoft.IdentityModel.Tokens.SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = "42", ["guilds"] = new[] { "1" } },
            Expires = Now.UtcDateTime.AddMinutes(10),
            IssuedAt = Now.UtcDateTime.AddMinutes(-1),
            NotBefore = Now.UtcDateTime.AddMinutes(-1),
            AdditionalHeaderClaims = new Dictionary<string, object> { ["crit"] = new[] { "exp" } },
            SigningCredentials = new Microsoft.IdentityModel.Tokens.SigningCredentials(
                new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(System.Text.Encoding.UTF8.GetBytes(TestTokens.Secret)),
                Microsoft.IdentityModel.Tokens.SecurityAlgorithms.HmacSha256),
        });

        var outcome = await Validate(token);

        Assert.That(outcome.IsValid, Is.False);
        Assert.That(outcome.ErrorCode, Is.EqualTo(LiveErrorCodes.TokenInvalid));
    }

    [Test]
    public async Task ValidateAsync_ATokenOver250KB_IsAccepted_WhenTheSizeLimitAllowsIt()
    {
        _options.MaxInboundMessageBytes = 512 * 1024;
        var token = TestTokens.Create("42", ["1"], now: Now, extraClaims: new Dictionary<string, object> { ["pad"] = new string('p', 300_000) });

        var outcome = await Validate(token);

        Assert.That(token.Length, Is.GreaterThan(300_000));
        Assert.That(outcome.IsValid, Is.True, "one size rule for every format: MaxInboundMessageBytes");
    }

    private ValueTask<Security.TokenValidationOutcome> Validate(string token) =>
        new HmacJwtTokenValidator(_options, _clock).ValidateAsync(token, CancellationToken.None);
}
