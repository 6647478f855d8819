using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// Derives the content-encryption keys of dashboard session tokens from a secret, as the dashboard's packages do
/// (next-auth 4 <c>jwt/index.js</c> and @auth/core <c>jwt.js</c>, both through <c>@panva/hkdf</c>, i.e. HKDF-SHA256).
/// </summary>
internal static class SessionKeys
{
    /// <summary>The HKDF info of NextAuth v4 when no salt is given (NextAuth's own session cookie passes none).</summary>
    public const string NextAuthV4Info = "NextAuth.js Generated Encryption Key";

    /// <summary>NextAuth v4 encrypts with <c>A256GCM</c>: a 32-byte key.</summary>
    public const int A256GcmKeyBytes = 32;

    /// <summary>Auth.js v5 encrypts with <c>A256CBC-HS512</c>: a 64-byte key (32 for HMAC-SHA512, then 32 for AES-256-CBC).</summary>
    public const int A256CbcHs512KeyBytes = 64;

    /// <summary>NextAuth v4: HKDF-SHA256(secret, salt = empty, info = "NextAuth.js Generated Encryption Key"), 32 bytes.</summary>
    public static byte[] NextAuthV4(string secret) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, AuthSecrets.Bytes(secret), A256GcmKeyBytes, salt: [], info: Encoding.UTF8.GetBytes(NextAuthV4Info));

    /// <summary>
    /// Auth.js v5: HKDF-SHA256(secret, salt = the session cookie name, info = "Auth.js Generated Encryption Key (&lt;salt&gt;)").
    /// 64 bytes for <c>A256CBC-HS512</c> (what its <c>encode</c> makes); its <c>decode</c> also accepts <c>A256GCM</c> with 32.
    /// </summary>
    public static byte[] AuthJs(string secret, string cookieName, int length) =>
        HKDF.DeriveKey(
            HashAlgorithmName.SHA256,
            AuthSecrets.Bytes(secret),
            length,
            salt: Encoding.UTF8.GetBytes(cookieName),
            info: Encoding.UTF8.GetBytes($"Auth.js Generated Encryption Key ({cookieName})"));

    /// <summary>
    /// The RFC 7638 JWK thumbprint of a symmetric key, which Auth.js puts in the JWE header as <c>kid</c>: the hash of
    /// <c>{"k":"&lt;base64url key&gt;","kty":"oct"}</c>, with SHA-512 for a 64-byte key and SHA-256 for a 32-byte one
    /// (@auth/core hashes with <c>sha${key bits}</c>).
    /// </summary>
    public static string Thumbprint(byte[] key)
    {
        var jwk = Encoding.UTF8.GetBytes($"{{\"k\":\"{Base64Url.EncodeToString(key)}\",\"kty\":\"oct\"}}");
        var hash = key.Length switch
        {
            A256CbcHs512KeyBytes => SHA512.HashData(jwk),
            A256GcmKeyBytes => SHA256.HashData(jwk),
            _ => throw new ArgumentException("Session keys are 32 or 64 bytes long.", nameof(key)),
        };
        return Base64Url.EncodeToString(hash);
    }
}
