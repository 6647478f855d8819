using System.Net;

namespace LiveUpdates.Internal.Admission;

/// <summary>What the admission decision looks at: the parts of an HTTP request that decide whether it may become a socket.</summary>
internal readonly record struct AdmissionRequest(string Path, bool IsWebSocketRequest, string? Origin, IPAddress? RemoteAddress, string? ForwardedFor, bool ServerRunning, string? WebSocketVersion = "13", string? WebSocketKey = "dGhlIHNhbXBsZSBub25jZQ==");

/// <summary>The decision: admitted (with the client's address, for the per-address limit) or refused with a status and a message.</summary>
internal readonly record struct AdmissionResult(HttpStatusCode Status, string Message, string Address)
{
    public bool IsAdmitted => Status == HttpStatusCode.SwitchingProtocols;

    public static AdmissionResult Admit(string address) => new(HttpStatusCode.SwitchingProtocols, string.Empty, address);

    public static AdmissionResult Refuse(HttpStatusCode status, string message) => new(status, message, string.Empty);
}

/// <summary>
/// Decides, before any WebSocket exists, whether a request may open one: the path, the server's state, the upgrade
/// itself, the Origin allow-list, and the client's address behind trusted proxies. A pure function of the request
/// and the options; the connection limits, which count, are <see cref="ConnectionLimiter"/>'s.
/// </summary>
internal sealed class AdmissionPolicy
{
    private readonly string _path;
    private readonly HashSet<string> _allowedOrigins;
    private readonly HashSet<IPAddress> _trustedProxies;

    public AdmissionPolicy(LiveUpdatesOptions options)
    {
        _path = NormalizePath(options.Path);
        _allowedOrigins = new HashSet<string>(options.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
        _trustedProxies = [.. options.TrustedProxies.Select(IPAddress.Parse)];
    }

    public AdmissionResult Decide(in AdmissionRequest request)
    {
        if (!string.Equals(NormalizePath(request.Path), _path, StringComparison.Ordinal))
        {
            return AdmissionResult.Refuse(HttpStatusCode.NotFound, $"Not found. LiveUpdates accepts WebSocket connections at {_path}.");
        }

        if (!request.ServerRunning)
        {
            return ShuttingDown;
        }

        if (!request.IsWebSocketRequest)
        {
            return AdmissionResult.Refuse(HttpStatusCode.UpgradeRequired, "This endpoint speaks WebSocket only: connect with a WebSocket client (ws://).");
        }

        // RFC 6455 §4.2.1: version 13 and a 16-byte base64 key, checked here so a malformed upgrade gets a plain
        // answer instead of an exception from the WebSocket layer (and a log line per request).
        if (!string.Equals(request.WebSocketVersion?.Trim(), "13", StringComparison.Ordinal))
        {
            return AdmissionResult.Refuse(HttpStatusCode.UpgradeRequired, "Unsupported WebSocket version: this server speaks version 13.");
        }

        if (!IsValidKey(request.WebSocketKey))
        {
            return AdmissionResult.Refuse(HttpStatusCode.BadRequest, "Missing or malformed Sec-WebSocket-Key.");
        }

        return AllowsOrigin(request.Origin)
            ? AdmissionResult.Admit(ClientAddress(request.RemoteAddress, request.ForwardedFor))
            : RefusedOrigin;
    }

    /// <summary>
    /// The decision for an upgrade a host's transport has routed and checked already (path, method, version and key
    /// are the host's): the server's state and the Origin allow-list. The client address is the host's, used as given.
    /// </summary>
    public AdmissionResult DecideRouted(bool serverRunning, string? origin, IPAddress? clientAddress) =>
        !serverRunning ? ShuttingDown
        : !AllowsOrigin(origin) ? RefusedOrigin
        : AdmissionResult.Admit(clientAddress?.ToString() ?? "unknown");

    /// <summary>The client's address: the remote end point, or the last <c>X-Forwarded-For</c> entry when the remote is a trusted proxy.</summary>
    public string ClientAddress(IPAddress? remote, string? forwardedFor)
    {
        if (remote is not null && _trustedProxies.Contains(remote) && forwardedFor is { Length: > 0 })
        {
            var last = forwardedFor[(forwardedFor.LastIndexOf(',') + 1)..].Trim();
            if (IPAddress.TryParse(last, out var client))
            {
                return client.ToString();
            }
        }

        return remote?.ToString() ?? "unknown";
    }

    private static AdmissionResult ShuttingDown => AdmissionResult.Refuse(HttpStatusCode.ServiceUnavailable, "The LiveUpdates server is shutting down.");

    private static AdmissionResult RefusedOrigin => AdmissionResult.Refuse(HttpStatusCode.Forbidden, "This origin may not open a LiveUpdates socket.");

    private bool AllowsOrigin(string? origin) => _allowedOrigins.Count == 0 || origin is null || _allowedOrigins.Contains(origin);

    private static bool IsValidKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[24];
        return key is { Length: 24 } && Convert.TryFromBase64String(key.Trim(), decoded, out var written) && written == 16;
    }

    private static string NormalizePath(string path) => path.Length > 1 ? path.TrimEnd('/') : "/";
}
