using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace LiveUpdates.SampleHost.Hosting;

/// <summary>
/// The sample's one-port mode (<c>SampleHost:OnePort=true</c>, environment <c>SampleHost__OnePort=true</c>): the
/// WebSocket is served by the ASP.NET Core transport on <see cref="Path"/> of the API's own port, beside the page and
/// the API, instead of by the HttpListener on <c>LiveUpdates:Port</c>. Off by default, so the sample shows the default
/// transport first. Behind a reverse proxy the client's address comes from ASP.NET Core's forwarded-headers middleware,
/// which trusts exactly the addresses listed in <c>SampleHost:KnownProxies</c> (the HttpListener's <c>LiveUpdates:TrustedProxies</c>
/// does not apply to this transport and fails start-up if set).
/// </summary>
public static class OnePortMode
{
    /// <summary>The configuration switch.</summary>
    public const string SwitchKey = "SampleHost:OnePort";

    /// <summary>The proxies whose <c>X-Forwarded-For</c> is believed in one-port mode (addresses).</summary>
    public const string KnownProxiesKey = "SampleHost:KnownProxies";

    /// <summary>The endpoint's path on the API port: <c>ws://host:3001/live</c>.</summary>
    public const string Path = "/live";

    /// <summary>Whether the configuration asks for one port.</summary>
    public static bool IsOn(IConfiguration configuration) => configuration.GetValue(SwitchKey, false);

    /// <summary>Chooses the ASP.NET Core transport and configures the forwarded headers, when the switch is on.</summary>
    public static void AddOnePort(this ILiveUpdatesBuilder liveUpdates, IConfiguration configuration)
    {
        if (!IsOn(configuration))
        {
            return;
        }

        liveUpdates.UseAspNetCore();
        var proxies = configuration.GetSection(KnownProxiesKey).Get<string[]>() ?? [];
        liveUpdates.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            // Exactly the listed proxies: ASP.NET Core trusts loopback by default, which would let any local process
            // claim any address (and reach /dev/token's loopback check with a forwarded one).
            o.KnownIPNetworks.Clear();
            o.KnownProxies.Clear();
            foreach (var proxy in proxies)
            {
                o.KnownProxies.Add(IPAddress.Parse(proxy));
            }
        });
    }

    /// <summary>Puts the forwarded-headers middleware first in the pipeline, when the switch is on.</summary>
    public static void UseOnePortForwardedHeaders(this WebApplication app)
    {
        if (IsOn(app.Configuration))
        {
            app.UseForwardedHeaders();
        }
    }

    /// <summary>Maps the WebSocket endpoint on <see cref="Path"/>, when the switch is on.</summary>
    public static void MapOnePort(this WebApplication app)
    {
        if (IsOn(app.Configuration))
        {
            app.MapLiveUpdates(Path);
        }
    }

    /// <summary>
    /// The WebSocket as the browser that sent <paramref name="request"/> reaches it: in one-port mode the request's own
    /// scheme, host and port with <see cref="Path"/>; otherwise the request's host name with the server's port and path.
    /// </summary>
    public static string WebSocketUrl(HttpRequest request, LiveUpdatesOptions options, IConfiguration configuration) =>
        IsOn(configuration)
            ? $"{(request.IsHttps ? "wss" : "ws")}://{request.Host}{request.PathBase}{Path}"
            : $"ws://{request.Host.Host}:{options.Port}{options.Path}";
}
