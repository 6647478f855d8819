using System.Collections.Concurrent;
using System.Net;

namespace LiveUpdates.Internal.Admission;

/// <summary>
/// Counts connections in total and per client address, taken before the upgrade (a refused client costs no
/// WebSocket) and released when the connection ends. IPv6 addresses count by their /64 prefix (see <see cref="KeyOf"/>).
/// </summary>
internal sealed class ConnectionLimiter(int maxConnections, int maxPerAddress)
{
    private readonly ConcurrentDictionary<string, int> _perAddress = new(StringComparer.Ordinal);
    private int _total;

    /// <summary>Takes a slot for <paramref name="address"/>, or refuses (503 when full, 429 for too many from the address).</summary>
    public AdmissionResult TryAcquire(string address)
    {
        if (Interlocked.Increment(ref _total) > maxConnections)
        {
            Interlocked.Decrement(ref _total);
            return AdmissionResult.Refuse(HttpStatusCode.ServiceUnavailable, "The server holds as many connections as it may; try again later.", AdmissionRules.MaxConnections,
                $"{maxConnections} connections are open, {LiveUpdatesOptions.SectionName}:MaxConnections; raise it if the server has room");
        }

        var key = KeyOf(address);
        if (_perAddress.AddOrUpdate(key, 1, static (_, n) => n + 1) > maxPerAddress)
        {
            Release(address);
            return AdmissionResult.Refuse(HttpStatusCode.TooManyRequests, "Too many connections from this address.", AdmissionRules.MaxConnectionsPerAddress,
                $"the address {address} ({key}) holds {maxPerAddress} connections, {LiveUpdatesOptions.SectionName}:MaxConnectionsPerAddress; behind a reverse proxy, list the proxy in {LiveUpdatesOptions.SectionName}:TrustedProxies");
        }

        return AdmissionResult.Admit(address);
    }

    public void Release(string address)
    {
        Interlocked.Decrement(ref _total);
        var key = KeyOf(address);
        while (_perAddress.TryGetValue(key, out var count))
        {
            if (count <= 1
                ? _perAddress.TryRemove(new KeyValuePair<string, int>(key, count))
                : _perAddress.TryUpdate(key, count - 1, count))
            {
                return;
            }
        }
    }

    /// <summary>
    /// The key an address counts under: an IPv6 address by its /64 prefix (the smallest allocation a customer gets, and
    /// what one host can rotate through freely), an IPv4 address (or IPv4 mapped into IPv6) as itself; anything that
    /// is not an address ("unknown") as it is.
    /// </summary>
    internal static string KeyOf(string address)
    {
        if (!IPAddress.TryParse(address, out var ip))
        {
            return address;
        }

        if (ip.IsIPv4MappedToIPv6)
        {
            return ip.MapToIPv4().ToString();
        }

        if (ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
        {
            return ip.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        ip.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }
}
