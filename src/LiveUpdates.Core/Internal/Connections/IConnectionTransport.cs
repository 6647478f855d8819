namespace LiveUpdates.Internal.Connections;

/// <summary>
/// What only the transport that accepted a socket knows how to do for it, called by the socket's connection:
/// <see cref="Abort"/> from whichever thread tears the connection down, <see cref="Release"/> once from its clean-up.
/// </summary>
/// <remarks>
/// The connection itself runs over the <see cref="System.Net.WebSockets.WebSocket"/> alone; this is the part of a
/// connection's life that differs between servers (HttpListener today).
/// </remarks>
internal interface IConnectionTransport
{
    /// <summary>
    /// Gets the peer's end point as the transport saw it (a proxy's, behind one), for logs; made when read, from what
    /// the transport keeps anyway, so that a connection holds no string of its own for it. Read only while the
    /// connection is open.
    /// </summary>
    string? RemoteEndPoint { get; }

    /// <summary>
    /// Called right after the WebSocket was aborted: makes sure the underlying connection goes down with it (the TCP
    /// connection is reset). May be called more than once; never throws.
    /// </summary>
    void Abort();

    /// <summary>Called once at clean-up, after the WebSocket was disposed: gives back what the transport keeps per connection. Never throws.</summary>
    void Release();

    /// <summary>
    /// Whether <paramref name="exception"/>, thrown by a receive on the WebSocket, is this transport's own way of
    /// saying the connection was lost (beyond the <see cref="System.Net.WebSockets.WebSocketException"/> and
    /// <see cref="IOException"/> every transport may throw).
    /// </summary>
    /// <param name="exception">The exception the receive threw.</param>
    /// <returns><see langword="true"/> when the connection ends as lost; <see langword="false"/> lets the exception through.</returns>
    bool IsConnectionLost(Exception exception);
}
