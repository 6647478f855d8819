namespace LiveUpdates.Internal.Transport;

/// <summary>
/// Turns <see cref="LiveUpdatesOptions.Host"/> into the <see cref="System.Net.HttpListener"/> prefixes to register, and the
/// URLs a client should dial. HttpListener matches a request's Host header against its prefixes and answers any other
/// with 404 before the server sees the request, so the spellings people use for "every address" and for "this machine
/// only" are mapped to what HttpListener understands.
/// </summary>
internal static class ListenerHost
{
    /// <summary>The HttpListener wildcard for every address (strong wildcard: every Host header).</summary>
    public const string EveryAddress = "+";

    /// <summary>
    /// Maps the "every address" spellings of other servers (<c>0.0.0.0</c>, <c>::</c>, <c>[::]</c>, <c>*</c>) to
    /// <c>+</c>; HttpListener refuses <c>0.0.0.0</c> ("The request is not supported").
    /// </summary>
    public static string Normalize(string host) => host.Trim() switch
    {
        "0.0.0.0" or "::" or "[::]" or "*" => EveryAddress,
        var other => other,
    };

    /// <summary>Gets whether <paramref name="host"/> (as configured) means every address.</summary>
    public static bool IsEveryAddress(string host) => Normalize(host) == EveryAddress;

    /// <summary>
    /// The hosts to register: the configured one, and for a loopback name its loopback twin (<c>localhost</c> and
    /// <c>127.0.0.1</c>), so that a client dialling either one is not refused with a silent 404.
    /// </summary>
    public static IReadOnlyList<string> Hosts(string host)
    {
        var normalized = Normalize(host);
        if (string.Equals(normalized, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            return [normalized, "127.0.0.1"];
        }

        return normalized == "127.0.0.1" ? [normalized, "localhost"] : [normalized];
    }
}
