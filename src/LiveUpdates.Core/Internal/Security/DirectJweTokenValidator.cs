using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// Accepts the encrypted session tokens of the dashboard's auth library: compact JWEs with <c>alg: dir</c>.
/// <list type="bullet">
/// <item>NextAuth v4 (<c>next-auth/jwt</c>): <c>enc: A256GCM</c>, key from <see cref="SessionKeys.NextAuthV4(string)"/>, no <c>kid</c>.</item>
/// <item>Auth.js v5 (<c>@auth/core/jwt</c>): <c>enc: A256CBC-HS512</c>, key salted with the session cookie name, <c>kid</c> = the key's
/// JWK thumbprint. Its <c>decode</c> also accepts <c>A256GCM</c> with a 32-byte key from the same salt, and so does this.</item>
/// </list>
/// Every key is derived once, here, for every secret and cookie name. The payload is the JSON claims set, checked by
/// <see cref="TokenClaims.Check(JsonElement, LiveUpdatesOptions, DateTimeOffset)"/>. Every refusal before the claims is <c>TOKEN_INVALID</c> for the client, whatever the reason; the reason goes to the log only.
/// </summary>
internal sealed class DirectJweTokenValidator
{
    private const string DirectAlgorithm = "dir";
    private const int Segments = 5;
    private static readonly JsonDocumentOptions PayloadOptions = new() { AllowDuplicateProperties = false };

    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ContentKey[] _gcmKeys;
    private readonly ContentKey[] _cbcKeys;

    public DirectJweTokenValidator(LiveUpdatesOptions options, TimeProvider timeProvider)
    {
        _options = options;
        _timeProvider = timeProvider;

        var secrets = AuthSecrets.From(options);
        var cookieNames = (options.SessionCookieNames ?? []).Where(n => !string.IsNullOrWhiteSpace(n)).Distinct(StringComparer.Ordinal).ToArray();

        // NextAuth v4 keys first: kid-less A256GCM tokens are almost always NextAuth v4's.
        var gcm = secrets.Select(s => ContentKey.Create(SessionKeys.NextAuthV4(s))).ToList();
        var cbc = new List<ContentKey>();
        foreach (var secret in secrets)
        {
            foreach (var cookieName in cookieNames)
            {
                cbc.Add(ContentKey.Create(SessionKeys.AuthJs(secret, cookieName, SessionKeys.A256CbcHs512KeyBytes)));
                gcm.Add(ContentKey.Create(SessionKeys.AuthJs(secret, cookieName, SessionKeys.A256GcmKeyBytes)));
            }
        }

        _gcmKeys = [.. gcm];
        _cbcKeys = [.. cbc];
    }

    /// <summary>Validates a token that has the five segments of a compact JWE.</summary>
    public TokenValidationOutcome Validate(string token)
    {
        Span<Range> ranges = stackalloc Range[Segments + 1];
        var span = token.AsSpan();
        if (span.Split(ranges, '.') != Segments)
        {
            return TokenOutcomes.Unreadable;
        }

        var encodedHeader = span[ranges[0]];
        if (!JoseHeader.TryParse(encodedHeader, out var header))
        {
            return TokenOutcomes.Unreadable;
        }

        if (!span[ranges[1]].IsEmpty // `dir` carries no encrypted key
            || header!.Alg != DirectAlgorithm
            || header.HasUnsupportedParameters)
        {
            return TokenOutcomes.UnsupportedEncryption;
        }

        var keys = header.Enc switch
        {
            JweContentDecryption.A256CbcHs512 => _cbcKeys,
            JweContentDecryption.A256Gcm => _gcmKeys,
            _ => null,
        };
        if (keys is null)
        {
            return TokenOutcomes.UnsupportedEncryption;
        }

        if (!Base64UrlSegment.TryDecode(span[ranges[2]], out var iv)
            || !Base64UrlSegment.TryDecode(span[ranges[3]], out var ciphertext)
            || !Base64UrlSegment.TryDecode(span[ranges[4]], out var tag)
            || !JweContentDecryption.HasValidShape(header.Enc!, iv.Length, ciphertext.Length, tag.Length))
        {
            return TokenOutcomes.Unreadable;
        }

        // The AAD is the ASCII of the encoded protected header (RFC 7516 §5.1 step 14); TryParse checked it is base64url.
        var aad = Encoding.ASCII.GetBytes(encodedHeader.ToString());
        var plaintext = new byte[ciphertext.Length];
        try
        {
            foreach (var key in keys)
            {
                // Auth.js names the key by its thumbprint; with a kid only that key is tried, and a kid that names
                // none of ours is refused, as @auth/core's decode does. Without one every key of this enc is tried.
                if (header.Kid is not null && !string.Equals(header.Kid, key.Kid, StringComparison.Ordinal))
                {
                    continue;
                }

                if (TryDecrypt(header.Enc!, key, aad, iv, ciphertext, tag, plaintext, out var written))
                {
                    return CheckPayload(header, plaintext.AsMemory(0, written));
                }
            }

            return TokenOutcomes.NotDecryptable;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }

    private static bool TryDecrypt(string enc, ContentKey key, byte[] aad, byte[] iv, byte[] ciphertext, byte[] tag, byte[] plaintext, out int written)
    {
        if (enc == JweContentDecryption.A256Gcm)
        {
            written = ciphertext.Length;
            return JweContentDecryption.TryDecryptA256Gcm(key.Key, aad, iv, ciphertext, tag, plaintext);
        }

        return JweContentDecryption.TryDecryptA256CbcHs512(key.Key, aad, iv, ciphertext, tag, plaintext, out written);
    }

    private TokenValidationOutcome CheckPayload(JoseHeader header, ReadOnlyMemory<byte> payload)
    {
        if (!Utf8.IsValid(payload.Span))
        {
            return TokenOutcomes.BadPayload;
        }

        JsonElement claims;
        try
        {
            using var document = JsonDocument.Parse(payload, PayloadOptions);
            claims = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return TokenOutcomes.BadPayload;
        }

        if (claims.ValueKind != JsonValueKind.Object || !header.ReplicatedClaimsMatch(claims))
        {
            return TokenOutcomes.BadPayload;
        }

        return TokenClaims.Check(claims, _options, _timeProvider.GetUtcNow());
    }

    /// <summary>A derived content-encryption key and its JWK thumbprint.</summary>
    private sealed record ContentKey(byte[] Key, string Kid)
    {
        public static ContentKey Create(byte[] key) => new(key, SessionKeys.Thumbprint(key));
    }
}
