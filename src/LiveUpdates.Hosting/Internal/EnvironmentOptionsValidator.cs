using Microsoft.Extensions.Options;

namespace LiveUpdates.Hosting.Internal;

/// <summary>Reports a malformed <c>WS_PORT</c> at start-up: <see cref="EnvironmentOptionsSetup"/> does not apply it, so it would otherwise be ignored.</summary>
internal sealed class EnvironmentOptionsValidator : IValidateOptions<LiveUpdatesOptions>
{
    private readonly Func<string, string?> _getVariable;

    public EnvironmentOptionsValidator()
        : this(Environment.GetEnvironmentVariable)
    {
    }

    internal EnvironmentOptionsValidator(Func<string, string?> getVariable) => _getVariable = getVariable;

    public ValidateOptionsResult Validate(string? name, LiveUpdatesOptions options)
    {
        var port = _getVariable(EnvironmentOptionsSetup.PortVariable);
        return EnvironmentOptionsSetup.TryParsePort(port, out _)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Environment variable {EnvironmentOptionsSetup.PortVariable} is '{port}'; set it to a TCP port between 1 and 65535, or unset it for the default 3002.");
    }
}
