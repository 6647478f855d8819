using System.Buffers.Binary;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// Mints compact JWEs in C#, written from RFC 7516/7518 and the packages' source independently of the product code,
/// for the edge cases the real packages never produce (other algorithms, zip, nbf, broken payloads...).
/// </summary>
internal static class TestJwe
{
    public const string DefaultCookie = "authjs.session-token";

    /// <summary>A NextAuth v4 session token: <c>dir</c> + <c>A256GCM</c>, key HKDF(secret, "", "NextAuth.js Generated Encryption Key").</summary>
    public static string NextAuthV4(object claims, string secret, string? header = null) =>
        Encrypt(header ?? """{"alg":"dir","enc":"A256GCM"}""", NextAuthKey(secret), Json(claims));

    /// <summary>An Auth.js v5 session token: <c>dir</c> + <c>A256CBC-HS512</c>, key salted with the cookie name, <c>kid</c> its thumbprint.</summary>
    public static string AuthJsV5(object claims, string secret, string cookieName = DefaultCookie, bool withKid = true)
    {
        var key = AuthJsKey(secret, cookieName, 64);
        var header = withKid
            ? $$"""{"alg":"dir","enc":"A256CBC-HS512","kid":"{{Thumbprint(key)}}"}"""
            : """{"alg":"dir","enc":"A256CBC-HS512"}""";
        return Encrypt(header, key, Json(claims));
    }

    public static byte[] NextAuthKey(string secret) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), 32, [], Encoding.UTF8.GetBytes("NextAuth.js Generated Encryption Key"));

    public static byte[] AuthJsKey(string secret, string cookieName, int length) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, Encoding.UTF8.GetBytes(secret), length, Encoding.UTF8.GetBytes(cookieName), Encoding.UTF8.GetBytes($"Auth.js Generated Encryption Key ({cookieName})"));

    public static string Thumbprint(byte[] key)
    {
        var jwk = Encoding.UTF8.GetBytes($$"""{"k":"{{B64(key)}}","kty":"oct"}""");
        return B64(key.Length == 64 ? SHA512.HashData(jwk) : SHA256.HashData(jwk));
    }

    /// <summary>
    /// Encrypts <paramref name="payload"/> under <paramref name="header"/> (sent as written) with <paramref name="key"/>:
    /// A256GCM for a 32-byte key, A256CBC-HS512 for a 64-byte one, whatever the header claims.
    /// </summary>
    public static string Encrypt(string header, byte[] key, byte[] payload, string encryptedKey = "")
    {
        var encodedHeader = B64(Encoding.UTF8.GetBytes(header));
        var aad = Encoding.ASCII.GetBytes(encodedHeader);
        byte[] iv, ciphertext, tag;
        if (key.Length == 32)
        {
            iv = RandomNumberGenerator.GetBytes(12);
            ciphertext = new byte[payload.Length];
            tag = new byte[16];
            using var gcm = new AesGcm(key, 16);
            gcm.Encrypt(iv, payload, ciphertext, tag, aad);
        }
        else
        {
            iv = RandomNumberGenerator.GetBytes(16);
            using var aes = Aes.Create();
            aes.Key = key[32..];
            ciphertext = aes.EncryptCbc(payload, iv, PaddingMode.PKCS7);
            var al = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(al, (ulong)aad.Length * 8);
            byte[] macInput = [.. aad, .. iv, .. ciphertext, .. al];
            tag = HMACSHA512.HashData(key[..32], macInput)[..32];
        }

        return $"{encodedHeader}.{encryptedKey}.{B64(iv)}.{B64(ciphertext)}.{B64(tag)}";
    }

    /// <summary>Claims as a dashboard makes them: a UUID <c>sub</c>, the Discord id in <c>discordId</c>, iat/exp (and nbf if given).</summary>
    public static Dictionary<string, object> Claims(
        DateTimeOffset now,
        TimeSpan? lifetime = null,
        string discordId = "123456789012345678",
        DateTimeOffset? notBefore = null,
        bool withDiscordId = true)
    {
        var claims = new Dictionary<string, object>
        {
            ["name"] = "Test User",
            ["sub"] = "6f1c2b0e-9a4d-4c3e-8b7a-2d5e9f0a1b3c",
            ["guilds"] = new[] { "111111111111111111" },
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + (lifetime ?? TimeSpan.FromHours(1))).ToUnixTimeSeconds(),
            ["jti"] = Guid.NewGuid().ToString(),
        };
        if (withDiscordId)
        {
            claims["discordId"] = discordId;
        }

        if (notBefore is { } nbf)
        {
            claims["nbf"] = nbf.ToUnixTimeSeconds();
        }

        return claims;
    }

    /// <summary>Returns the token with segment <paramref name="index"/> replaced.</summary>
    public static string WithSegment(string token, int index, string value)
    {
        var parts = token.Split('.');
        parts[index] = value;
        return string.Join('.', parts);
    }

    /// <summary>Flips one bit of the decoded bytes of segment <paramref name="index"/>, keeping the segment well-formed base64url.</summary>
    public static string FlipBit(string token, int index, int byteIndex = 0)
    {
        var bytes = Base64Url.DecodeFromChars(token.Split('.')[index]);
        bytes[byteIndex] ^= 0x01;
        return WithSegment(token, index, B64(bytes));
    }

    public static string B64(byte[] bytes) => Base64Url.EncodeToString(bytes);

    public static string B64(string text) => B64(Encoding.UTF8.GetBytes(text));

    public static byte[] Json(object value) => JsonSerializer.SerializeToUtf8Bytes(value);
}
