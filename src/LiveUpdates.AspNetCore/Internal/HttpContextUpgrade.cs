using System.Net;
using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Transports;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LiveUpdates.AspNetCore.Internal;

/// <summary>
/// One WebSocket upgrade request of the host's ASP.NET Core app, as the LiveUpdates server sees it. Lives for the
/// request: the endpoint awaits the whole connection, and an abort after the request ended does nothing.
/// </summary>
internal sealed class HttpContextUpgrade(HttpContext context, LiveUpdatesOptions options) : WebSocketUpgrade
{
    private volatile bool _ended;

    /// <inheritdoc/>
    /// <remarks>After the host's forwarded-headers middleware, when it runs; an IPv4 client on a dual-stack socket counts as its IPv4 address.</remarks>
    public override IPAddress? ClientAddress =>
        Connection?.RemoteIpAddress is { } address && address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : Connection?.RemoteIpAddress;

    /// <inheritdoc/>
    public override string? RemoteEndPoint =>
        Connection is { RemoteIpAddress: { } address } connection ? new IPEndPoint(address, connection.RemotePort).ToString() : null;

    // The connection feature (what the forwarded-headers middleware updates) rather than HttpContext.Connection, which
    // makes a ConnectionInfo object kept for the request's life: 56 bytes per open connection.
    private IHttpConnectionFeature? Connection => context.Features.Get<IHttpConnectionFeature>();

    /// <inheritdoc/>
    public override string? Origin => context.Request.Headers.Origin is { Count: > 0 } origin ? origin.ToString() : null;

    /// <inheritdoc/>
    public override async Task RefuseAsync(HttpStatusCode status, string message)
    {
        var response = context.Response;
        response.StatusCode = (int)status;
        response.ContentType = "text/plain; charset=utf-8";
        await response.WriteAsync(message + "\n", Encoding.UTF8, context.RequestAborted).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    /// <remarks>
    /// Per-message deflate when <see cref="LiveUpdatesOptions.EnableCompression"/> is on and the client offers it,
    /// without server context takeover: no deflate window is kept per socket between messages.
    /// </remarks>
    public override Task<WebSocket> AcceptAsync() =>
        context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            KeepAliveInterval = options.KeepAliveInterval,
            DangerousEnableCompression = options.EnableCompression,
            DisableServerContextTakeover = true,
        });

    /// <inheritdoc/>
    public override void Abort()
    {
        if (!_ended)
        {
            context.Abort();
        }
    }

    /// <summary>Called when the endpoint's request delegate ends: the context is the server's again.</summary>
    public void End() => _ended = true;
}
