using System.Diagnostics.CodeAnalysis;
using LiveUpdates;
using LiveUpdatesServer = LiveUpdates.WebSocketManager;
using LiveUpdates.AspNetCore.Internal;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.AspNetCore.Builder;

/// <summary>Maps the LiveUpdates WebSocket server on an endpoint of the host's ASP.NET Core app.</summary>
public static class LiveUpdatesEndpointRouteBuilderExtensions
{
    /// <summary>
    /// Accepts LiveUpdates WebSockets at <paramref name="pattern"/> (e.g. <c>"/live"</c>): the same protocol, admission
    /// (<see cref="LiveUpdatesOptions.AllowedOrigins"/>, connection limits), options, metrics and health as the
    /// HttpListener transport, on the app's own port, TLS and route. Needs <c>services.AddLiveUpdates(…).UseAspNetCore()</c>.
    /// The endpoint brings its own WebSocket middleware (<c>app.UseWebSockets()</c> is not needed) and answers
    /// requests that are not WebSocket upgrades with 426. HTTP/2 WebSockets work where Kestrel offers HTTP/2 (TLS with
    /// ALPN, by default). Mapping several patterns serves the same server on each.
    /// </summary>
    /// <param name="endpoints">The app, or a route group.</param>
    /// <param name="pattern">The route pattern of the endpoint.</param>
    /// <returns>The endpoint's convention builder (for <c>RequireHost</c>, <c>RequireCors</c> and the like).</returns>
    /// <exception cref="InvalidOperationException"><c>UseAspNetCore()</c> was not called on <c>AddLiveUpdates()</c>.</exception>
    public static IEndpointConventionBuilder MapLiveUpdates(this IEndpointRouteBuilder endpoints, [StringSyntax("Route")] string pattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrEmpty(pattern);
        var transport = endpoints.ServiceProvider.GetService<AspNetCoreTransport>()
            ?? throw new InvalidOperationException(
                "MapLiveUpdates needs services.AddLiveUpdates(…).UseAspNetCore(): without it the server takes its sockets on its own HttpListener port, " +
                "and two transports for one server is never what a host wants. Add .UseAspNetCore() to the AddLiveUpdates call.");
        // Resolved per request, not here: the server and its options are built when the host starts, where invalid
        // options fail start-up with the validators' message.
        var services = endpoints.ServiceProvider;

        // The endpoint carries the WebSocket middleware (as SignalR's MapHub does), so the host's pipeline needs nothing more.
        var app = endpoints.CreateApplicationBuilder();
        app.UseWebSockets();
        app.Run(context => AcceptAsync(services.GetRequiredService<LiveUpdatesServer>(), services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value, context));
        // Every method, not GET alone: an HTTP/2 WebSocket arrives as an extended CONNECT (RFC 8441).
        var builder = endpoints.Map(pattern, app.Build()).WithDisplayName("LiveUpdates WebSocket endpoint");
        transport.EndpointMapped();
        return builder;
    }

    private static Task AcceptAsync(LiveUpdatesServer manager, LiveUpdatesOptions options, HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers.Upgrade = "websocket";
            context.Response.Headers.SecWebSocketVersion = "13";
            return context.Response.WriteAsync("This endpoint speaks WebSocket only: connect with a WebSocket client (ws:// or wss://).\n", context.RequestAborted);
        }

        return RunAsync(manager, new HttpContextUpgrade(context, options));
    }

    // Besides the connection's own, the one state machine that waits out a connection's life on this transport (the
    // request must stay open as long as its WebSocket), kept to the fields it needs. No cancellation token: reading
    // HttpContext.RequestAborted makes Kestrel create a CancellationTokenSource kept for the request's life (48 bytes
    // per open connection), and the handshake is bounded by HandshakeTimeout and fails by itself when the client goes
    // (a refusal's write still watches RequestAborted, in HttpContextUpgrade).
    private static async Task RunAsync(LiveUpdatesServer manager, HttpContextUpgrade upgrade)
    {
        try
        {
            await manager.AcceptAsync(upgrade, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            upgrade.End();
        }
    }
}
