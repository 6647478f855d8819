namespace LiveUpdates.Internal.Connections;

/// <summary>
/// What a connection knows of the request it was accepted from, made by the transport at the upgrade and immutable
/// afterwards, so any thread may read it.
/// </summary>
/// <param name="RemoteEndPoint">The peer's end point as the transport saw it (a proxy's, behind one), for logs.</param>
/// <param name="ClientAddress">The client's address as admission resolved it behind trusted proxies (the key of the per-address limit).</param>
/// <param name="Origin">The request's <c>Origin</c> header, when it had one (admission already checked it against the allow-list).</param>
internal sealed record ConnectionRequest(string? RemoteEndPoint, string ClientAddress, string? Origin);
