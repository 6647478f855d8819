using LiveUpdates.Internal.Admission;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Transports;

namespace LiveUpdates.Internal.Transport;

/// <summary>
/// The <see cref="IConnectionTransport"/> of a socket a host's transport accepted (<see cref="WebSocketUpgrade"/>):
/// an abort goes to the host, and the release gives the connection's admission slot back (its client address in
/// <paramref name="limiter"/>; the host owns its request); safe from any thread.
/// </summary>
internal sealed class RoutedUpgradeTransport(WebSocketUpgrade upgrade, ConnectionLimiter limiter, string address) : IConnectionTransport
{
    /// <inheritdoc/>
    public string? RemoteEndPoint => upgrade.RemoteEndPoint;

    /// <inheritdoc/>
    public void Abort()
    {
        try
        {
            upgrade.Abort();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Already gone.
        }
    }

    /// <inheritdoc/>
    public void Release() => limiter.Release(address);

    /// <inheritdoc/>
    public bool IsConnectionLost(Exception exception) => false;
}
