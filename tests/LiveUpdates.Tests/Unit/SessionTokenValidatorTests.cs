using System.Buffers.Text;
using System.Text;
using LiveUpdates.Internal.Security;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Unit;

/// <summary>
/// The token matrix of the built-in validator: HS256 JWTs, NextAuth v4 and Auth.js v5 session tokens, made by the real
/// packages (Fixtures/tokens) and, for what the packages never make, in C# (<see cref="TestJwe"/>).
/// </summary>
[TestFixture]
public sealed class SessionTokenValidatorTests
{
    private const string InvalidMessage = "The token is invalid.";
    private static readonly TokenFixtures Fixtures = TokenFixtures.Current;
    private static readonly string Secret = Fixtures.Secrets[0];
    private static readonly string SecondSecret = Fixtures.Secrets[1];

    private FakeTimeProvider _clock = null!;
    private LiveUpdatesOptions _options = null!;

    private DateTimeOffset Now => _clock.GetUtcNow();

    [SetUp]
    public void SetUp()
    {
        _clock = new FakeTimeProvider(Fixtures.Now);
        _options = Fixtures.CreateOptions();
    }

    // ---- Tokens made by the real packages ----

    private static IEnumerable<TestCaseData> FixtureTokens() =>
        Fixtures.Tokens.Select(t => new TestCaseData(t.Name).SetName($"ValidateAsync_Fixture_{t.Name}_{t.Expected}"));

    [TestCaseSource(nameof(FixtureTokens))]
    public async Task ValidateAsync_FixtureToken_GivesTheExpectedOutcome(string name)
    {
        var fixture = Fixtures[name];

        var outcome = await Validate(fixture.Token);

        if (fixture.Expected == "valid")
        {
            Assert.That(outcome.IsValid, Is.True, $"{name}: {outcome.ErrorCode}");
            Assert.Multiple(() =>
            {
                Assert.That(outcome.User!.UserId, Is.EqualTo(Fixtures.DiscordId));
                Assert.That(outcome.User.ExpiresAt, Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds(fixture.ExpiresAt)));
                Assert.That(outcome.User.Claims.GetProperty("sub").GetString(), Is.EqualTo(Fixtures.Sub));
                Assert.That(outcome.User.Claims.GetProperty("guilds").GetArrayLength(), Is.EqualTo(Fixtures.Guilds.Length));
            });
        }
        else
        {
            AssertRefused(outcome, fixture.Expected);
        }
    }

    [Test]
    public void Fixtures_CoverEveryFormatWithBothSecretsAndBothCookieNames()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Fixtures.Packages["next-auth"], Is.EqualTo("4.24.15"));
            Assert.That(Fixtures.Packages["@auth/core"], Is.EqualTo("0.41.3"));
            Assert.That(Fixtures.Tokens.Select(t => t.Format).Distinct(), Is.EquivalentTo(new[] { "nextauth-v4", "authjs-v5", "hs256" }));
            Assert.That(Fixtures.Tokens.Where(t => t.Format == "authjs-v5").Select(t => t.CookieName).Distinct(), Is.EquivalentTo(Fixtures.CookieNames));
            Assert.That(Fixtures.Tokens.Count(t => t.SecretIndex == 1), Is.EqualTo(3));
            Assert.That(Fixtures["authjs-v5-valid"].Header.GetProperty("enc").GetString(), Is.EqualTo("A256CBC-HS512"));
            Assert.That(Fixtures["nextauth-v4-valid"].Header.GetProperty("enc").GetString(), Is.EqualTo("A256GCM"));
        });
    }

    [TestCase("nextauth-v4-valid")]
    [TestCase("authjs-v5-valid")]
    [TestCase("hs256-valid")]
    public async Task ValidateAsync_FixtureWithDefaultUserIdClaim_UserIdIsTheUuidSub(string name)
    {
        _options.UserIdClaim = "sub";

        var outcome = await Validate(Fixtures[name].Token);

        Assert.That(outcome.User?.UserId, Is.EqualTo(Fixtures.Sub));
    }

    [TestCase("nextauth-v4-valid")]
    [TestCase("authjs-v5-valid")]
    [TestCase("authjs-v5-secure-cookie")]
    [TestCase("hs256-valid")]
    public async Task ValidateAsync_FixtureWithWrongSecret_TokenInvalid(string name)
    {
        _options.AuthSecret = TestTokens.OtherSecret;
        _options.AdditionalAuthSecrets = [];

        AssertRefused(await Validate(Fixtures[name].Token), LiveErrorCodes.TokenInvalid);
    }

    [TestCase("nextauth-v4-second-secret")]
    [TestCase("authjs-v5-second-secret")]
    [TestCase("hs256-second-secret")]
    public async Task ValidateAsync_SecondSecretToken_WithoutAdditionalSecret_TokenInvalid(string name)
    {
        _options.AdditionalAuthSecrets = [];

        AssertRefused(await Validate(Fixtures[name].Token), LiveErrorCodes.TokenInvalid);
    }

    [TestCase("nextauth-v4-valid")]
    [TestCase("authjs-v5-valid")]
    [TestCase("hs256-valid")]
    public async Task ValidateAsync_SecretsSwapped_OldSecretAsAdditional_Accepted(string name)
    {
        _options.AuthSecret = SecondSecret;
        _options.AdditionalAuthSecrets = [Secret];

        Assert.That((await Validate(Fixtures[name].Token)).IsValid, Is.True);
    }

    [Test]
    public async Task ValidateAsync_SecureCookieToken_WhenOnlyThePlainCookieNameIsConfigured_TokenInvalid()
    {
        _options.SessionCookieNames = ["authjs.session-token"];

        AssertRefused(await Validate(Fixtures["authjs-v5-secure-cookie"].Token), LiveErrorCodes.TokenInvalid);
        Assert.That((await Validate(Fixtures["authjs-v5-valid"].Token)).IsValid, Is.True);
    }

    [Test]
    public async Task ValidateAsync_CustomCookieNameOnly_AcceptsTokensSaltedWithIt_AndNoOthers()
    {
        _options.SessionCookieNames = ["my-dashboard.session"];
        var token = TestJwe.AuthJsV5(TestJwe.Claims(Now), Secret, "my-dashboard.session");

        Assert.That((await Validate(token)).IsValid, Is.True);
        AssertRefused(await Validate(Fixtures["authjs-v5-valid"].Token), LiveErrorCodes.TokenInvalid);
    }

    [TestCase("nextauth-v4-valid", 0, TestName = "ValidateAsync_FixtureV4_TamperedHeader_TokenInvalid")]
    [TestCase("nextauth-v4-valid", 2, TestName = "ValidateAsync_FixtureV4_TamperedIv_TokenInvalid")]
    [TestCase("nextauth-v4-valid", 3, TestName = "ValidateAsync_FixtureV4_TamperedCiphertext_TokenInvalid")]
    [TestCase("nextauth-v4-valid", 4, TestName = "ValidateAsync_FixtureV4_TamperedTag_TokenInvalid")]
    [TestCase("authjs-v5-valid", 0, TestName = "ValidateAsync_FixtureV5_TamperedHeader_TokenInvalid")]
    [TestCase("authjs-v5-valid", 2, TestName = "ValidateAsync_FixtureV5_TamperedIv_TokenInvalid")]
    [TestCase("authjs-v5-valid", 3, TestName = "ValidateAsync_FixtureV5_TamperedCiphertext_TokenInvalid")]
    [TestCase("authjs-v5-valid", 4, TestName = "ValidateAsync_FixtureV5_TamperedTag_TokenInvalid")]
    [TestCase("hs256-valid", 1, TestName = "ValidateAsync_FixtureHs256_TamperedPayload_TokenInvalid")]
    [TestCase("hs256-valid", 2, TestName = "ValidateAsync_FixtureHs256_TamperedSignature_TokenInvalid")]
    public async Task ValidateAsync_FixtureTampered_TokenInvalid(string name, int segment)
    {
        var token = Fixtures[name].Token;

        // A header that still parses and still names dir + its enc, but differs: only the AAD check can catch it.
        var tampered = segment == 0
            ? TestJwe.WithSegment(token, 0, TestJwe.B64(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.Split('.')[0])).TrimEnd('}') + ",\"x\":1}"))
            : TestJwe.FlipBit(token, segment, byteIndex: segment == 3 ? 20 : 0);

        Assert.That(tampered, Is.Not.EqualTo(token));
        AssertRefused(await Validate(tampered), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_FixtureV5_LastCiphertextBlockTampered_TokenInvalid()
    {
        // The last block holds the PKCS7 padding: the tag must be checked before padding is ever looked at.
        var token = Fixtures["authjs-v5-valid"].Token;
        var length = Base64Url.DecodeFromChars(token.Split('.')[3]).Length;

        AssertRefused(await Validate(TestJwe.FlipBit(token, 3, length - 1)), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_FixtureV5_KidOfAnotherKey_TokenInvalid()
    {
        // Re-encrypted with the right key but a kid that names no key of ours: refused, as @auth/core's decode does.
        var key = TestJwe.AuthJsKey(Secret, TestJwe.DefaultCookie, 64);
        var otherKid = TestJwe.Thumbprint(TestJwe.AuthJsKey(TestTokens.OtherSecret, TestJwe.DefaultCookie, 64));
        var token = TestJwe.Encrypt($$"""{"alg":"dir","enc":"A256CBC-HS512","kid":"{{otherKid}}"}""", key, TestJwe.Json(TestJwe.Claims(Now)));

        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);
    }

    // ---- Tokens made in C#: each format valid ----

    [Test]
    public async Task ValidateAsync_NextAuthV4BuiltInCSharp_Accepted()
    {
        var outcome = await Validate(TestJwe.NextAuthV4(TestJwe.Claims(Now, TimeSpan.FromMinutes(5)), Secret));

        Assert.That(outcome.User?.UserId, Is.EqualTo("123456789012345678"));
        Assert.That(outcome.User!.ExpiresAt, Is.EqualTo(DateTimeOffset.FromUnixTimeSeconds((Now + TimeSpan.FromMinutes(5)).ToUnixTimeSeconds())));
    }

    [TestCase("authjs.session-token", true)]
    [TestCase("__Secure-authjs.session-token", true)]
    [TestCase("authjs.session-token", false)]
    [TestCase("__Secure-authjs.session-token", false)]
    public async Task ValidateAsync_AuthJsV5BuiltInCSharp_WithOrWithoutKid_Accepted(string cookieName, bool withKid)
    {
        var outcome = await Validate(TestJwe.AuthJsV5(TestJwe.Claims(Now), SecondSecret, cookieName, withKid));

        Assert.That(outcome.User?.UserId, Is.EqualTo("123456789012345678"));
    }

    [Test]
    public async Task ValidateAsync_Hs256BuiltInCSharp_WithEitherSecret_Accepted()
    {
        _options.UserIdClaim = "sub";

        Assert.That((await Validate(TestTokens.Create("42", [], Secret, Now))).User?.UserId, Is.EqualTo("42"));
        Assert.That((await Validate(TestTokens.Create("43", [], SecondSecret, Now))).User?.UserId, Is.EqualTo("43"));
    }

    [Test]
    public async Task ValidateAsync_AuthJsSaltedA256Gcm_Accepted_AsAuthJsDecodeDoes()
    {
        // @auth/core's decode also accepts enc A256GCM with a 32-byte key from the same salted HKDF.
        var key = TestJwe.AuthJsKey(Secret, "__Secure-authjs.session-token", 32);
        var claims = TestJwe.Json(TestJwe.Claims(Now));

        Assert.That((await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM"}""", key, claims))).IsValid, Is.True);
        Assert.That((await Validate(TestJwe.Encrypt($$"""{"alg":"dir","enc":"A256GCM","kid":"{{TestJwe.Thumbprint(key)}}"}""", key, claims))).IsValid, Is.True);
    }

    [Test]
    public async Task ValidateAsync_HeaderReplicatesSubEqualToPayload_Accepted_DifferentFromPayload_TokenInvalid()
    {
        var claims = TestJwe.Json(TestJwe.Claims(Now));
        var key = TestJwe.NextAuthKey(Secret);

        Assert.That((await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM","sub":"6f1c2b0e-9a4d-4c3e-8b7a-2d5e9f0a1b3c"}""", key, claims))).IsValid, Is.True);
        AssertRefused(await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM","sub":"someone-else"}""", key, claims)), LiveErrorCodes.TokenInvalid);
    }

    // ---- Lifetime and user claim ----

    [Test]
    public async Task ValidateAsync_ExpiredV4AndV5_TokenExpired()
    {
        var claims = TestJwe.Claims(Now.AddHours(-2), TimeSpan.FromHours(1));

        AssertRefused(await Validate(TestJwe.NextAuthV4(claims, Secret)), LiveErrorCodes.TokenExpired);
        AssertRefused(await Validate(TestJwe.AuthJsV5(claims, Secret)), LiveErrorCodes.TokenExpired);
    }

    [Test]
    public async Task ValidateAsync_FixtureValid_AfterItsExpiryPlusSkew_TokenExpired()
    {
        var fixture = Fixtures["authjs-v5-valid"];
        _clock.SetUtcNow(DateTimeOffset.FromUnixTimeSeconds(fixture.ExpiresAt) + _options.ClockSkew + TimeSpan.FromSeconds(1));

        AssertRefused(await Validate(fixture.Token), LiveErrorCodes.TokenExpired);
        AssertRefused(await Validate(Fixtures["nextauth-v4-valid"].Token), LiveErrorCodes.TokenExpired);
    }

    [Test]
    public async Task ValidateAsync_NotBeforeInTheFuture_TokenNotYetValid()
    {
        var claims = TestJwe.Claims(Now, TimeSpan.FromHours(2), notBefore: Now.AddMinutes(10));

        AssertRefused(await Validate(TestJwe.NextAuthV4(claims, Secret)), LiveErrorCodes.TokenNotYetValid);
        AssertRefused(await Validate(TestJwe.AuthJsV5(claims, Secret)), LiveErrorCodes.TokenNotYetValid);
    }

    [Test]
    public async Task ValidateAsync_MissingUserIdClaim_TokenUserMissing()
    {
        var claims = TestJwe.Claims(Now, withDiscordId: false);

        AssertRefused(await Validate(TestJwe.NextAuthV4(claims, Secret)), LiveErrorCodes.TokenUserMissing);
        AssertRefused(await Validate(TestJwe.AuthJsV5(claims, Secret)), LiveErrorCodes.TokenUserMissing);
    }

    [TestCase("exp", null, TestName = "ValidateAsync_NoExp_TokenInvalid")]
    [TestCase("exp", "soon", TestName = "ValidateAsync_StringExp_TokenInvalid")]
    [TestCase("iat", "now", TestName = "ValidateAsync_StringIat_TokenInvalid")]
    [TestCase("nbf", "later", TestName = "ValidateAsync_StringNbf_TokenInvalid")]
    public async Task ValidateAsync_BadTimeClaim_TokenInvalid(string claim, string? value)
    {
        var claims = TestJwe.Claims(Now);
        if (value is null)
        {
            claims.Remove(claim);
        }
        else
        {
            claims[claim] = value;
        }

        AssertRefused(await Validate(TestJwe.AuthJsV5(claims, Secret)), LiveErrorCodes.TokenInvalid);
    }

    // ---- Algorithms and header parameters ----

    private static IEnumerable<TestCaseData> RefusedHeaders()
    {
        // Each token is encrypted correctly with a key we hold (AAD = this header): only the header check refuses it.
        TestCaseData Case(string header, int keyBytes, string name) => new TestCaseData(header, keyBytes).SetName($"ValidateAsync_{name}_TokenInvalid");
        yield return Case("""{"alg":"none","enc":"A256GCM"}""", 32, "JweAlgNone");
        yield return Case("""{"alg":"RSA-OAEP","enc":"A256GCM"}""", 32, "JweAlgRsaOaep");
        yield return Case("""{"alg":"A256KW","enc":"A256GCM"}""", 32, "JweAlgA256KW");
        yield return Case("""{"alg":"PBES2-HS512+A256KW","enc":"A256CBC-HS512"}""", 64, "JweAlgPbes2");
        yield return Case("""{"alg":"DIR","enc":"A256GCM"}""", 32, "JweAlgDirUpperCase");
        yield return Case("""{"enc":"A256GCM"}""", 32, "JweNoAlg");
        yield return Case("""{"alg":"dir"}""", 32, "JweNoEnc");
        yield return Case("""{"alg":"dir","enc":"A128GCM"}""", 32, "JweEncA128Gcm");
        yield return Case("""{"alg":"dir","enc":"A192GCM"}""", 32, "JweEncA192Gcm");
        yield return Case("""{"alg":"dir","enc":"A128CBC-HS256"}""", 64, "JweEncA128CbcHs256");
        yield return Case("""{"alg":"dir","enc":"A256CBC-HS512"}""", 32, "JweGcmKeyUnderCbcEnc");
        yield return Case("""{"alg":"dir","enc":"A256GCM","zip":"DEF"}""", 32, "JweZip");
        yield return Case("""{"alg":"dir","enc":"A256GCM","crit":["exp"],"exp":1}""", 32, "JweCrit");
        yield return Case("""{"alg":"dir","enc":"A256GCM","alg":"dir"}""", 32, "JweDuplicateHeaderParameter");
        yield return Case("""{"alg":"dir","enc":"A256GCM","kid":""}""", 32, "JweEmptyKid");
        yield return Case("""{"alg":"dir","enc":"A256GCM","kid":7}""", 32, "JweNumericKid");
        yield return Case("""{"alg":["dir"],"enc":"A256GCM"}""", 32, "JweArrayAlg");
        yield return Case("""["dir","A256GCM"]""", 32, "JweHeaderNotAnObject");
        yield return Case("""{"alg":"dir","enc":"A256GCM""", 32, "JweHeaderNotJson");
    }

    [TestCaseSource(nameof(RefusedHeaders))]
    public async Task ValidateAsync_RefusedHeader_TokenInvalid(string header, int keyBytes)
    {
        var key = keyBytes == 32 ? TestJwe.NextAuthKey(Secret) : TestJwe.AuthJsKey(Secret, TestJwe.DefaultCookie, 64);

        AssertRefused(await Validate(TestJwe.Encrypt(header, key, TestJwe.Json(TestJwe.Claims(Now)))), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_DirWithNonEmptyEncryptedKey_TokenInvalid()
    {
        var claims = TestJwe.Json(TestJwe.Claims(Now));
        var token = TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM"}""", TestJwe.NextAuthKey(Secret), claims, encryptedKey: TestJwe.B64(new byte[32]));

        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);
        Assert.That((await Validate(TestJwe.WithSegment(token, 1, ""))).IsValid, Is.True, "the same token without the encrypted key is fine");
    }

    [Test]
    public async Task ValidateAsync_JwsAlgNone_TokenInvalid()
    {
        var claims = TestJwe.Claims(Now);
        var token = $"{TestJwe.B64("""{"alg":"none","typ":"JWT"}""")}.{TestJwe.B64(TestJwe.Json(claims))}.";

        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_JwsHs512WithTheSecret_TokenInvalid()
    {
        var header = TestJwe.B64("""{"alg":"HS512","typ":"JWT"}""");
        var payload = TestJwe.B64(TestJwe.Json(TestJwe.Claims(Now)));
        var signature = TestJwe.B64(System.Security.Cryptography.HMACSHA512.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.ASCII.GetBytes($"{header}.{payload}")));

        AssertRefused(await Validate($"{header}.{payload}.{signature}"), LiveErrorCodes.TokenInvalid);
    }

    // ---- Payloads that decrypt but are not a claims set ----

    [TestCase("not json", TestName = "ValidateAsync_PayloadNotJson_TokenInvalid")]
    [TestCase("[1,2,3]", TestName = "ValidateAsync_PayloadJsonArray_TokenInvalid")]
    [TestCase("\"eyJhbGciOiJIUzI1NiJ9.e30.x\"", TestName = "ValidateAsync_PayloadNestedJwtString_TokenInvalid")]
    [TestCase("{\"discordId\":\"1\",\"discordId\":\"2\",\"exp\":4102444800}", TestName = "ValidateAsync_PayloadDuplicateClaim_TokenInvalid")]
    [TestCase("{\"discordId\":\"1\",\"exp\":4102444800} trailing", TestName = "ValidateAsync_PayloadTrailingContent_TokenInvalid")]
    public async Task ValidateAsync_PayloadNotAClaimsSet_TokenInvalid(string payload)
    {
        var bytes = Encoding.UTF8.GetBytes(payload);

        AssertRefused(await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM"}""", TestJwe.NextAuthKey(Secret), bytes)), LiveErrorCodes.TokenInvalid);
        AssertRefused(await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256CBC-HS512"}""", TestJwe.AuthJsKey(Secret, TestJwe.DefaultCookie, 64), bytes)), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_PayloadInvalidUtf8_TokenInvalid_DoesNotThrow()
    {
        byte[] payload = [.. "{\"discordId\":\""u8, 0xC3, 0x28, .. "\",\"exp\":4102444800}"u8];

        AssertRefused(await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM"}""", TestJwe.NextAuthKey(Secret), payload)), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_UserIdClaimEscapingALoneSurrogate_TokenUserMissing_DoesNotThrow()
    {
        // JSON may escape a lone surrogate ("\ud800"), which no .NET string can hold.
        var payload = "{\"discordId\":\"\\ud800\",\"exp\":4102444800}"u8.ToArray();

        AssertRefused(await Validate(TestJwe.Encrypt("""{"alg":"dir","enc":"A256GCM"}""", TestJwe.NextAuthKey(Secret), payload)), LiveErrorCodes.TokenUserMissing);
    }

    [Test]
    public async Task ValidateAsync_KidEscapingALoneSurrogate_TokenInvalid_DoesNotThrow()
    {
        var header = """{"alg":"dir","enc":"A256CBC-HS512","kid":"\udc00"}""";

        AssertRefused(await Validate(TestJwe.Encrypt(header, TestJwe.AuthJsKey(Secret, TestJwe.DefaultCookie, 64), TestJwe.Json(TestJwe.Claims(Now)))), LiveErrorCodes.TokenInvalid);
    }

    [TestCase("""{"alg":"HS256","typ":"JWT","kid":"\ud800"}""", """{"discordId":"1","exp":4102444800}""", TestName = "ValidateAsync_JwsHeaderWithLoneSurrogate_TokenInvalid")]
    [TestCase("""{"alg":"HS256","typ":"JWT"}""", """{"discordId":"\ud800","exp":4102444800}""", TestName = "ValidateAsync_JwsPayloadWithLoneSurrogate_TokenInvalid")]
    [TestCase("""{"alg":"HS256","typ":"JWT"}""", """{"discordId":"1","exp":4102444800,"a":{"b":"\udc00"}}""", TestName = "ValidateAsync_JwsNestedClaimWithLoneSurrogate_TokenInvalid")]
    [TestCase("""{"alg":"HS256","typ":"JWT"}""", "[1,2]", TestName = "ValidateAsync_JwsPayloadArray_TokenInvalid")]
    [TestCase("""{"alg":"HS256","typ":"JWT"}""", "{\"discordId\":\"\u00c3(\"}", TestName = "ValidateAsync_JwsPayloadNoExp_TokenInvalid")]
    public async Task ValidateAsync_UnsignedOddJws_TokenInvalid_DoesNotThrow(string header, string payload)
    {
        // Parsed before any signature check, so anyone can send these.
        var token = $"{TestJwe.B64(header)}.{TestJwe.B64(payload)}.{TestJwe.B64(new byte[32])}";

        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_JwsPayloadWithInvalidUtf8_TokenInvalid_DoesNotThrow()
    {
        byte[] payload = [.. "{\"discordId\":\""u8, 0xC3, 0x28, .. "\",\"exp\":4102444800}"u8];
        var token = $"{TestJwe.B64("""{"alg":"HS256","typ":"JWT"}""")}.{TestJwe.B64(payload)}.{TestJwe.B64(new byte[32])}";

        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);
    }

    // ---- Garbage ----

    private static IEnumerable<TestCaseData> Garbage()
    {
        var v4 = Fixtures["nextauth-v4-valid"].Token;
        var v5 = Fixtures["authjs-v5-valid"].Token;
        TestCaseData Case(string token, string name) => new TestCaseData(token).SetName($"ValidateAsync_{name}_TokenInvalid");
        yield return Case("not-a-token", "OnePart");
        yield return Case("a.b", "TwoParts");
        yield return Case("a.b.c", "ThreeGarbageParts");
        yield return Case("a.b.c.d", "FourParts");
        yield return Case("a.b.c.d.e.f", "SixParts");
        yield return Case(v5 + ".", "FixtureV5PlusEmptySixthPart");
        yield return Case(string.Join('.', v4.Split('.').Take(4)), "FixtureV4WithoutTag");
        yield return Case("..", "ThreeEmptyParts");
        yield return Case("....", "FiveEmptyParts");
        yield return Case(TestJwe.WithSegment(v5, 0, ""), "EmptyHeader");
        yield return Case(TestJwe.WithSegment(v5, 2, ""), "EmptyIv");
        yield return Case(TestJwe.WithSegment(v5, 3, ""), "EmptyCiphertext");
        yield return Case(TestJwe.WithSegment(v5, 4, ""), "EmptyTag");
        yield return Case(TestJwe.WithSegment(v5, 3, v5.Split('.')[3] + "="), "PaddedCiphertext");
        yield return Case(TestJwe.WithSegment(v5, 3, v5.Split('.')[3].Replace('-', '+').Replace('_', '/') + "+/"), "StandardBase64Alphabet");
        yield return Case(TestJwe.WithSegment(v5, 3, "A" + v5.Split('.')[3][1..] + "*"), "BadBase64Character");
        yield return Case(TestJwe.WithSegment(v5, 3, "AAAAA"), "Base64LengthOneModFour");
        yield return Case(TestJwe.WithSegment(v4, 2, TestJwe.B64(new byte[16])), "GcmIvOfWrongLength");
        yield return Case(TestJwe.WithSegment(v4, 4, TestJwe.B64(new byte[12])), "GcmTagTooShort");
        yield return Case(TestJwe.WithSegment(v5, 4, TestJwe.B64(new byte[64])), "CbcFullLengthHmacAsTag");
        yield return Case(TestJwe.WithSegment(v5, 3, TestJwe.B64(new byte[17])), "CbcCiphertextNotWholeBlocks");
        yield return Case(" " + v5, "LeadingSpace");
        yield return Case(v5.Replace('.', ' '), "SpacesForDots");
        yield return Case("\u0000\u0001\uffff.\u00e9.\ud83d\ude00..", "ControlAndNonAsciiCharacters");
        yield return Case(new string('x', 100_000), "HugeOnePart");
        yield return Case(TestJwe.WithSegment(v5, 3, new string('A', 40_000)), "HugeCiphertext");
        yield return Case(TestJwe.WithSegment(v5, 3, new string('A', 29_952)), "LargeGarbageCiphertextOfWholeBlocksUnderTheLimit");
    }

    [TestCaseSource(nameof(Garbage))]
    public async Task ValidateAsync_Garbage_TokenInvalid(string token) =>
        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);

    [TestCase("")]
    public async Task ValidateAsync_Empty_TokenMissing(string token) =>
        AssertRefused(await Validate(token), LiveErrorCodes.TokenMissing, "The auth message carried no token.");

    [Test]
    public async Task ValidateAsync_LongerThanMaxInboundMessageBytes_TokenInvalid_EvenIfGenuine()
    {
        var claims = TestJwe.Claims(Now);
        claims["padding"] = new string('p', 2_000);
        var token = TestJwe.AuthJsV5(claims, Secret);
        Assert.That((await Validate(token)).IsValid, Is.True);

        _options.MaxInboundMessageBytes = token.Length - 1;

        AssertRefused(await Validate(token), LiveErrorCodes.TokenInvalid);
    }

    [Test]
    public async Task ValidateAsync_RandomMutationsOfFixtureTokens_NeverThrow_AndAreNeverAnotherUser()
    {
        var validator = new SessionTokenValidator(_options, _clock);
        var random = new Random(20260115);
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ";
        foreach (var fixture in Fixtures.Tokens)
        {
            for (var i = 0; i < 150; i++)
            {
                var chars = fixture.Token.ToCharArray();
                chars[random.Next(chars.Length)] = Alphabet[random.Next(Alphabet.Length)];
                var mutated = new string(chars);

                var outcome = await validator.ValidateAsync(mutated, CancellationToken.None);

                // Base64url's unused trailing bits can change without changing the bytes, so a mutation may stay valid;
                // it can never become a different user or a different error.
                if (outcome.IsValid)
                {
                    Assert.That(outcome.User.UserId, Is.EqualTo(Fixtures.DiscordId), mutated);
                }
                else
                {
                    Assert.That(outcome.ErrorCode, Is.AnyOf(LiveErrorCodes.TokenInvalid, fixture.Expected), mutated);
                }
            }
        }
    }

    [Test]
    public async Task ValidateAsync_ConcurrentCallsOnOneValidator_AllSucceed()
    {
        var validator = new SessionTokenValidator(_options, _clock);
        var tokens = Fixtures.Tokens.Where(t => t.Expected == "valid").Select(t => t.Token).ToArray();

        var outcomes = await Wait.ForAsync(
            Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () => await validator.ValidateAsync(tokens[i % tokens.Length], CancellationToken.None)))),
            "concurrent validations");

        Assert.That(outcomes.Select(o => o.User?.UserId), Is.All.EqualTo(Fixtures.DiscordId));
    }

    [Test]
    public void Constructor_WithoutAuthSecret_Throws() =>
        Assert.Throws<InvalidOperationException>(() => _ = new SessionTokenValidator(new LiveUpdatesOptions(), _clock));

    private static void AssertRefused(TokenValidationOutcome outcome, string code, string? message = null)
    {
        Assert.Multiple(() =>
        {
            Assert.That(outcome.IsValid, Is.False, "the token was accepted");
            Assert.That(outcome.ErrorCode, Is.EqualTo(code));
            if (code == LiveErrorCodes.TokenInvalid || message is not null)
            {
                Assert.That(outcome.Message, Is.EqualTo(message ?? InvalidMessage));
            }
        });
    }

    private async Task<TokenValidationOutcome> Validate(string token) =>
        await Wait.ForAsync(new SessionTokenValidator(_options, _clock).ValidateAsync(token, CancellationToken.None).AsTask(), "token validation");
}
