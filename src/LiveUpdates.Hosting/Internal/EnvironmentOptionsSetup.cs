using System.Globalization;
using LiveUpdates;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Hosting.Internal;

/// <summary>
/// Applies the seed's environment variables <c>WS_PORT</c> and <c>AUTH_SECRET</c>, and Auth.js's rotation
/// variables <c>AUTH_SECRET_1</c>..<c>AUTH_SECRET_3</c> (added to <see cref="LiveUpdatesOptions.AdditionalAuthSecrets"/>).
/// A malformed value is not ignored: it is reported by validation when the host starts.
/// </summary>
internal sealed class EnvironmentOptionsSetup : IConfigureOptions<LiveUpdatesOptions>
{
    public const string PortVariable = "WS_PORT";
    public const string SecretVariable = "AUTH_SECRET";

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
        var port = _getVariable(PortVariable);
        if (!string.IsNullOrWhiteSpace(port))
        {
            if (int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value is >= 1 and <= 65535)
            {
                options.Port = value;
            }
            else
            {
                options.SourceErrors.Add($"Environment variable {PortVariable} is '{port}'; set it to a TCP port between 1 and 65535, or unset it for the default 3002.");
            }
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
}
