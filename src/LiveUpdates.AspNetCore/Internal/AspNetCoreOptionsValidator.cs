using Microsoft.Extensions.Options;

namespace LiveUpdates.AspNetCore.Internal;

/// <summary>
/// The options that belong to the HttpListener and would be silently ignored on the ASP.NET Core endpoint: setting
/// them with <c>UseAspNetCore()</c> fails start-up, naming the setting and what to use instead.
/// </summary>
internal sealed class AspNetCoreOptionsValidator : IValidateOptions<LiveUpdatesOptions>
{
    public ValidateOptionsResult Validate(string? name, LiveUpdatesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.TrustedProxies.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(
                $"{LiveUpdatesOptions.SectionName}:TrustedProxies is set, but with UseAspNetCore() the client's address is the one ASP.NET Core resolved " +
                "(HttpContext.Connection.RemoteIpAddress). Remove TrustedProxies and list the proxies in ForwardedHeadersOptions.KnownProxies / KnownNetworks " +
                "with app.UseForwardedHeaders() before MapLiveUpdates, so one setting decides who is a proxy.");
    }
}
