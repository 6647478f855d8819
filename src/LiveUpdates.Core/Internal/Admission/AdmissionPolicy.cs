using System.Net;

namespace LiveUpdates.Internal.Admission;

/// <summary>What the admission decision looks at: the parts of an HTTP request that decide whether it may become a socket.</summary>
internal readonly record struct AdmissionRequest(string Path, bool IsWebSocketRequest, string? Origin, IPAddress? RemoteAddress, string? ForwardedFor, bool ServerRunning, string? WebSocketVersion = "13", string? WebSocketKey = "dGhlIHNhbXBsZSBub25jZQ==");

/// <summary>
/// The decision: admitted (with the client's address, for the per-address limit) or refused with a status, a message
/// for the client, and for the operator's log the rule that refused (one of <see cref="AdmissionRules"/>, which also
/// keys the log's rate limit) and why, in words that name the setting.
/// </summary>
internal readonly record struct AdmissionResult(HttpStatusCode Status, string Message, string Address, string Rule = "", string Reason = "")
{
    public bool IsAdmitted => Status == HttpStatusCode.SwitchingProtocols;

    public static AdmissionResult Admit(string address) => new(HttpStatusCode.SwitchingProtocols, string.Empty, address);

    public static AdmissionResult Refuse(HttpStatusCode status, string message, string rule, string reason) => new(status, message, string.Empty, rule, reason);
}

/// <summary>The admission rules a request can be refused by, as the log names them.</summary>
internal static class AdmissionRules
{
    public const string Path = "path";
    public const string ShuttingDown = "shutting-down";
    public const string NotWebSocket = "not-websocket";
    public const string Version = "websocket-version";
    public const string Key = "websocket-key";
    public const string Origin = "origin";
    public const string MaxConnections = "max-connections";
    public const string MaxConnectionsPerAddress = "max-connections-per-address";
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
    private readonly string _allowedList;

    public AdmissionPolicy(LiveUpdatesOptions options)
    {
        _path = NormalizePath(options.Path);
        _allowedOrigins = new HashSet<string>(options.AllowedOrigins, StringComparer.OrdinalIgnoreCase);
        _trustedProxies = [.. options.TrustedProxies.Select(IPAddress.Parse)];
        _allowedList = string.Join(", ", options.AllowedOrigins);
    }

    public AdmissionResult Decide(in AdmissionRequest request)
    {
        if (!string.Equals(NormalizePath(request.Path), _path, StringComparison.Ordinal))
        {
            return AdmissionResult.Refuse(HttpStatusCode.NotFound, $"Not found. LiveUpdates accepts WebSocket connections at {_path}.", AdmissionRules.Path,
                $"the path '{Clip(request.Path)}' is not {LiveUpdatesOptions.SectionName}:Path '{_path}'; the client's URL must end in {_path}");
        }

        if (!request.ServerRunning)
        {
            return ShuttingDown;
        }

        if (!request.IsWebSocketRequest)
        {
            return AdmissionResult.Refuse(HttpStatusCode.UpgradeRequired, "This endpoint speaks WebSocket only: connect with a WebSocket client (ws://).", AdmissionRules.NotWebSocket,
                "not a WebSocket upgrade (no 'Connection: Upgrade' and 'Upgrade: websocket' headers): a plain HTTP request, or a proxy that does not forward those headers");
        }

        // RFC 6455 §4.2.1: version 13 and a 16-byte base64 key, checked here so a malformed upgrade gets a plain
        // answer instead of an exception from the WebSocket layer (and a log line per request).
        if (!string.Equals(request.WebSocketVersion?.Trim(), "13", StringComparison.Ordinal))
        {
            return AdmissionResult.Refuse(HttpStatusCode.UpgradeRequired, "Unsupported WebSocket version: this server speaks version 13.", AdmissionRules.Version,
                $"Sec-WebSocket-Version is '{Clip(request.WebSocketVersion)}'; this server speaks version 13");
        }

        if (!IsValidKey(request.WebSocketKey))
        {
            return AdmissionResult.Refuse(HttpStatusCode.BadRequest, "Missing or malformed Sec-WebSocket-Key.", AdmissionRules.Key,
                "the Sec-WebSocket-Key header is missing or is not 16 bytes in base64");
        }

        return AllowsOrigin(request.Origin)
            ? AdmissionResult.Admit(ClientAddress(request.RemoteAddress, request.ForwardedFor))
            : RefusedOrigin(request.Origin);
    }

    /// <summary>
    /// The decision for an upgrade a host's transport has routed and checked already (path, method, version and key
    /// are the host's): the server's state and the Origin allow-list. The client address is the host's, used as given.
    /// </summary>
    public AdmissionResult DecideRouted(bool serverRunning, string? origin, IPAddress? clientAddress) =>
        !serverRunning ? ShuttingDown
        : !AllowsOrigin(origin) ? RefusedOrigin(origin)
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

    /// <summary>Shortens a value the client chose before it goes into the log.</summary>
    internal static string Clip(string? value)
    {
        const int Max = 200;
        return value is null ? "(none)" : value.Length <= Max ? value : string.Concat(value.AsSpan(0, Max), "…");
    }

    private static AdmissionResult ShuttingDown =>
        AdmissionResult.Refuse(HttpStatusCode.ServiceUnavailable, "The LiveUpdates server is shutting down.", AdmissionRules.ShuttingDown, "the server is stopping");

    private AdmissionResult RefusedOrigin(string? origin) =>
        AdmissionResult.Refuse(HttpStatusCode.Forbidden, "This origin may not open a LiveUpdates socket.", AdmissionRules.Origin,
            $"the origin '{Clip(origin)}' is not in {LiveUpdatesOptions.SectionName}:AllowedOrigins ({_allowedList}); add it there if it is your dashboard (scheme://host[:port], exactly as the browser sends it)");

    private bool AllowsOrigin(string? origin) => _allowedOrigins.Count == 0 || origin is null || _allowedOrigins.Contains(origin);

    private static bool IsValidKey(string? key)
    {
        Span<byte> decoded = stackalloc byte[24];
        return key is { Length: 24 } && Convert.TryFromBase64String(key.Trim(), decoded, out var written) && written == 16;
    }

    private static string NormalizePath(string path) => path.Length > 1 ? path.TrimEnd('/') : "/";
}
