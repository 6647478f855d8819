using System.Globalization;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Hosting.Internal;

/// <summary>
/// Applies the environment variables <c>WS_PORT</c>, <c>LIVEUPDATES_TOKEN_KEY</c> and <c>AUTH_SECRET</c>, and Auth.js's rotation variables
/// <c>AUTH_SECRET_1</c>..<c>AUTH_SECRET_3</c> (added to <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/>).
/// A malformed <c>WS_PORT</c> is not applied; <see cref="EnvironmentOptionsValidator"/> reports it when the host starts.
/// </summary>
internal sealed class EnvironmentOptionsSetup : IConfigureOptions<LiveUpdatesOptions>
{
    public const string PortVariable = "WS_PORT";
    public const string SecretVariable = "AUTH_SECRET";
    public const string TokenKeyVariable = "LIVEUPDATES_TOKEN_KEY";

    /// <summary>Auth.js reads <c>AUTH_SECRET_1</c>, <c>AUTH_SECRET_2</c> and <c>AUTH_SECRET_3</c> besides <c>AUTH_SECRET</c>.</summary>
    public static readonly string[] RotationSecretVariables = ["AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3"];

    private readonly Func<string, string?> _getVariable;

    public EnvironmentOptionsSetup()
        : this(Environment.GetEnvironmentVariable)
    {
    }

    internal EnvironmentOptionsSetup(Func<string, string?> getVariable) => _getVariable = getVariable;

    public void Configure(LiveUpdatesOptions options)
    {
        if (TryParsePort(_getVariable(PortVariable), out var port) && port is { } value)
        {
            options.Port = value;
        }

        var tokenKey = _getVariable(TokenKeyVariable);
        if (!string.IsNullOrEmpty(tokenKey))
        {
            options.ConnectionTokenKey = tokenKey;
        }

        var secret = _getVariable(SecretVariable);
        if (!string.IsNullOrEmpty(secret))
        {
            options.AuthSecret = secret;
        }

        foreach (var variable in RotationSecretVariables)
        {
            var rotated = _getVariable(variable);
            if (!string.IsNullOrEmpty(rotated) && options.AdditionalAuthSecrets is { } list && !list.Contains(rotated))
            {
                list.Add(rotated);
            }
        }
    }

    /// <summary>Reads a <c>WS_PORT</c> value: <see langword="false"/> when it is set but not a TCP port; <paramref name="port"/> is <see langword="null"/> when it is unset.</summary>
    internal static bool TryParsePort(string? text, out int? port)
    {
        port = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= 65535)
        {
            port = value;
            return true;
        }

        return false;
    }
}
