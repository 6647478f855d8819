using LiveUpdates.Internal.Security;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Unit;

/// <summary>Key derivation checked against what the real @auth/core wrote into the fixture tokens' headers.</summary>
[TestFixture]
public sealed class SessionKeysTests
{
    private static readonly TokenFixtures Fixtures = TokenFixtures.Current;

    private static IEnumerable<TestCaseData> AuthJsFixtures() =>
        Fixtures.Tokens.Where(t => t.Format == "authjs-v5").Select(t => new TestCaseData(t.Name).SetName($"Thumbprint_OfDerivedKey_EqualsKidWrittenByAuthJs_{t.Name}"));

    [TestCaseSource(nameof(AuthJsFixtures))]
    public void Thumbprint_OfDerivedKey_EqualsKidWrittenByAuthJs(string name)
    {
        var fixture = Fixtures[name];
        var key = SessionKeys.AuthJs(Fixtures.Secrets[fixture.SecretIndex], fixture.CookieName!, SessionKeys.A256CbcHs512KeyBytes);

        Assert.That(SessionKeys.Thumbprint(key), Is.EqualTo(fixture.Header.GetProperty("kid").GetString()));
    }

    [Test]
    public void AuthJs_DependsOnTheCookieName_AndTheSecret()
    {
        var plain = SessionKeys.AuthJs(Fixtures.Secrets[0], "authjs.session-token", 64);
        var secure = SessionKeys.AuthJs(Fixtures.Secrets[0], "__Secure-authjs.session-token", 64);
        var other = SessionKeys.AuthJs(Fixtures.Secrets[1], "authjs.session-token", 64);

        Assert.Multiple(() =>
        {
            Assert.That(plain, Has.Length.EqualTo(64));
            Assert.That(secure, Is.Not.EqualTo(plain));
            Assert.That(other, Is.Not.EqualTo(plain));
            Assert.That(SessionKeys.AuthJs(Fixtures.Secrets[0], "authjs.session-token", 32), Is.EqualTo(plain[..32]), "HKDF output is a prefix");
        });
    }

    [Test]
    public void NextAuthV4_Is32Bytes_AndMatchesAnIndependentDerivation()
    {
        var key = SessionKeys.NextAuthV4(Fixtures.Secrets[0]);

        Assert.That(key, Has.Length.EqualTo(32));
        Assert.That(key, Is.EqualTo(TestJwe.NextAuthKey(Fixtures.Secrets[0])));
    }

    [Test]
    public void Thumbprint_OfA32ByteKey_UsesSha256()
    {
        var key = new byte[32];

        Assert.That(SessionKeys.Thumbprint(key), Has.Length.EqualTo(43)); // 32-byte digest in base64url
        Assert.That(SessionKeys.Thumbprint(new byte[64]), Has.Length.EqualTo(86)); // 64-byte digest
    }
}
