using System.Text.Json;
using System.Text.Unicode;

namespace LiveUpdates.Internal.Security;

/// <summary>The protected header of a compact JWE (or JWS), read once, with the parameters the validators act on.</summary>
internal sealed class JoseHeader
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { AllowDuplicateProperties = false, MaxDepth = 8 };

    private JoseHeader(string alg, string? enc, string? kid, string? typ, bool hasExtensions, JsonElement root)
    {
        Alg = alg;
        Enc = enc;
        Kid = kid;
        Typ = typ;
        HasUnsupportedParameters = hasExtensions;
        Root = root;
    }

    /// <summary>Gets the key management algorithm (<c>alg</c>).</summary>
    public string Alg { get; }

    /// <summary>Gets the content encryption (<c>enc</c>), or <see langword="null"/> when absent.</summary>
    public string? Enc { get; }

    /// <summary>Gets the key id (<c>kid</c>), or <see langword="null"/> when absent.</summary>
    public string? Kid { get; }

    /// <summary>Gets the media type of the token (<c>typ</c>), or <see langword="null"/> when absent.</summary>
    public string? Typ { get; }

    /// <summary>
    /// Gets a value indicating whether the header asks for something no session token uses: compression (<c>zip</c>)
    /// or critical extensions (<c>crit</c>). Neither package's <c>encode</c> sets them, so such a token is refused.
    /// </summary>
    public bool HasUnsupportedParameters { get; }

    private JsonElement Root { get; }

    /// <summary>Parses the base64url protected header; <see langword="false"/> for anything malformed.</summary>
    public static bool TryParse(ReadOnlySpan<char> encoded, out JoseHeader? header)
    {
        header = null;
        if (!Base64UrlSegment.TryDecode(encoded, out var bytes) || !Utf8.IsValid(bytes))
        {
            return false;
        }

        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(bytes, DocumentOptions);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return false;
        }

        if (root.ValueKind != JsonValueKind.Object
            || !TryGetString(root, "alg", required: true, out var alg)
            || !TryGetString(root, "enc", required: false, out var enc)
            || !TryGetString(root, "kid", required: false, out var kid)
            || !TryGetString(root, "typ", required: false, out var typ))
        {
            return false;
        }

        var unsupported = root.TryGetProperty("zip", out _) || root.TryGetProperty("crit", out _);
        header = new JoseHeader(alg!, enc, kid, typ, unsupported, root);
        return true;
    }

    /// <summary>
    /// Checks the claims a JWE header may replicate (<c>iss</c>, <c>sub</c>, <c>aud</c>, RFC 7519 §5.3) against the
    /// payload, as jose's <c>jwtDecrypt</c> does: a replicated claim must equal the one inside.
    /// </summary>
    public bool ReplicatedClaimsMatch(JsonElement claims)
    {
        foreach (var name in (ReadOnlySpan<string>)["iss", "sub", "aud"])
        {
            if (Root.TryGetProperty(name, out var replicated)
                && (!claims.TryGetProperty(name, out var actual) || !JsonElement.DeepEquals(replicated, actual)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryGetString(JsonElement root, string name, bool required, out string? value)
    {
        value = null;
        if (!root.TryGetProperty(name, out var element))
        {
            return !required;
        }

        if (element.ValueKind != JsonValueKind.String)
        {
            return false;
        }

        value = TokenClaims.GetStringOrNull(element);
        return !string.IsNullOrEmpty(value);
    }
}
