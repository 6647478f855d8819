using System.Net;
using System.Net.WebSockets;

namespace LiveUpdates.Transports;

/// <summary>
/// One WebSocket upgrade request received by a transport other than the server's own <see cref="HttpListener"/>
/// (the <c>LiveUpdates.AspNetCore</c> package's endpoint), handed to <see cref="WebSocketManager.AcceptAsync(WebSocketUpgrade, CancellationToken)"/>.
/// The server decides admission (its state, the Origin allow-list, the connection limits) and then calls either
/// <see cref="RefuseAsync"/> or <see cref="AcceptAsync"/>, once.
/// </summary>
/// <remarks>
/// The transport has already routed the request (the path is the host's) and checked that it is a well-formed
/// WebSocket upgrade. <see cref="LiveUpdatesOptions.Host"/>, <see cref="LiveUpdatesOptions.Port"/>,
/// <see cref="LiveUpdatesOptions.Path"/> and <see cref="LiveUpdatesOptions.TrustedProxies"/> do not apply to it.
/// </remarks>
public abstract class WebSocketUpgrade
{
    /// <summary>
    /// Gets the client's address as the host resolved it (behind a reverse proxy, after the host's forwarded-headers
    /// handling); the key of <see cref="LiveUpdatesOptions.MaxConnectionsPerAddress"/>.
    /// </summary>
    public abstract IPAddress? ClientAddress { get; }

    /// <summary>Gets the peer's end point as the transport saw it, for logs.</summary>
    public abstract string? RemoteEndPoint { get; }

    /// <summary>Gets the request's <c>Origin</c> header, or <see langword="null"/> when it has none.</summary>
    public abstract string? Origin { get; }

    /// <summary>Answers the request with an HTTP error instead of the upgrade.</summary>
    /// <param name="status">The status, e.g. 403 for an origin that is not allowed, 429 or 503 for the connection limits.</param>
    /// <param name="message">A plain-text explanation for the client.</param>
    /// <returns>A task that completes when the answer has been written.</returns>
    public abstract Task RefuseAsync(HttpStatusCode status, string message);

    /// <summary>Completes the upgrade; the server bounds it by <see cref="LiveUpdatesOptions.HandshakeTimeout"/>.</summary>
    /// <returns>The server side of the accepted WebSocket.</returns>
    public abstract Task<WebSocket> AcceptAsync();

    /// <summary>
    /// Called after the server aborted the WebSocket (a stalled or dead client, or a stop that could not wait): makes
    /// sure the underlying connection goes down with it. May be called more than once, from any thread; must not throw.
    /// </summary>
    public abstract void Abort();
}
