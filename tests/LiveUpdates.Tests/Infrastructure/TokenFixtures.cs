using System.Text.Json;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// The tokens in Fixtures/tokens/tokens.json, made by the real next-auth 4 and @auth/core packages (and jose for
/// HS256) at a fixed time. Regenerate with <c>npm ci &amp;&amp; node generate.mjs</c> in that folder; tests never need npm.
/// </summary>
internal sealed class TokenFixtures
{
    private static readonly Lazy<TokenFixtures> Instance = new(Load);
    private static readonly JsonSerializerOptions SerializerOptions = new(JsonSerializerDefaults.Web);

    public required DateTimeOffset Now { get; init; }

    public required string[] Secrets { get; init; }

    public required string[] CookieNames { get; init; }

    public required string UserIdClaim { get; init; }

    public required string DiscordId { get; init; }

    public required string Sub { get; init; }

    public required string[] Guilds { get; init; }

    public required Dictionary<string, string> Packages { get; init; }

    public required List<FixtureToken> Tokens { get; init; }

    public static TokenFixtures Current => Instance.Value;

    public FixtureToken this[string name] => Tokens.Single(t => t.Name == name);

    /// <summary>Options that accept every fixture token: both secrets, both cookie names, the Discord-id claim.</summary>
    public LiveUpdatesOptions CreateOptions() => new()
    {
        AuthSecret = Secrets[0],
        AdditionalAuthSecrets = [.. Secrets.Skip(1)],
        SessionCookieNames = [.. CookieNames],
        UserIdClaim = UserIdClaim,
    };

    private static TokenFixtures Load()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokens", "tokens.json");
        using var stream = File.OpenRead(path);
        return JsonSerializer.Deserialize<TokenFixtures>(stream, SerializerOptions)
            ?? throw new InvalidOperationException($"{path} is empty.");
    }
}

/// <summary>One fixture token: what made it, with which secret and cookie name, and what validation should say.</summary>
internal sealed class FixtureToken
{
    public required string Name { get; init; }

    /// <summary><c>nextauth-v4</c>, <c>authjs-v5</c> or <c>hs256</c>.</summary>
    public required string Format { get; init; }

    public required JsonElement Header { get; init; }

    public required int SecretIndex { get; init; }

    public string? CookieName { get; init; }

    /// <summary><c>valid</c>, or the error code expected at the fixture's <see cref="TokenFixtures.Now"/>.</summary>
    public required string Expected { get; init; }

    public required long IssuedAt { get; init; }

    public required long ExpiresAt { get; init; }

    public required string Token { get; init; }

    public override string ToString() => Name;
}
