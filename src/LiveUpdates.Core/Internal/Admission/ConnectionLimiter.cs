using System.Collections.Concurrent;
using System.Net;

namespace LiveUpdates.Internal.Admission;

/// <summary>
/// Counts connections in total and per client address, taken before the upgrade (a refused client costs no
/// WebSocket) and released when the connection ends.
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

        if (_perAddress.AddOrUpdate(address, 1, static (_, n) => n + 1) > maxPerAddress)
        {
            Release(address);
            return AdmissionResult.Refuse(HttpStatusCode.TooManyRequests, "Too many connections from this address.", AdmissionRules.MaxConnectionsPerAddress,
                $"the address {address} holds {maxPerAddress} connections, {LiveUpdatesOptions.SectionName}:MaxConnectionsPerAddress; behind a reverse proxy, list the proxy in {LiveUpdatesOptions.SectionName}:TrustedProxies");
        }

        return AdmissionResult.Admit(address);
    }

    public void Release(string address)
    {
        Interlocked.Decrement(ref _total);
        while (_perAddress.TryGetValue(address, out var count))
        {
            if (count <= 1
                ? _perAddress.TryRemove(new KeyValuePair<string, int>(address, count))
                : _perAddress.TryUpdate(address, count - 1, count))
            {
                return;
            }
        }
    }
}
