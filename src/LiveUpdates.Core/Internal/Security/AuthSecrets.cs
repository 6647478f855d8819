using System.Text;

namespace LiveUpdates.Internal.Security;

/// <summary>The secrets every built-in token format is checked with: <see cref="LiveUpdatesOptions.AuthSecret"/> first, then <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/>.</summary>
internal static class AuthSecrets
{
    /// <summary>Returns the configured secrets in order, without empties or repeats.</summary>
    /// <exception cref="InvalidOperationException"><see cref="LiveUpdatesOptions.AuthSecret"/> is not set.</exception>
    public static IReadOnlyList<string> From(LiveUpdatesOptions options)
    {
        if (string.IsNullOrEmpty(options.AuthSecret))
        {
            throw new InvalidOperationException($"{LiveUpdatesOptions.SectionName}:AuthSecret (environment variable AUTH_SECRET) is not set.");
        }

        var secrets = new List<string> { options.AuthSecret };
        foreach (var secret in options.AdditionalAuthSecrets ?? [])
        {
            if (!string.IsNullOrEmpty(secret) && !secrets.Contains(secret, StringComparer.Ordinal))
            {
                secrets.Add(secret);
            }
        }

        return secrets;
    }

    /// <summary>The bytes a secret stands for: its UTF-8 encoding, as NextAuth, Auth.js and jose use a string secret.</summary>
    public static byte[] Bytes(string secret) => Encoding.UTF8.GetBytes(secret);
}
