using LiveUpdates.Internal.Connections;
using LiveUpdates.Transports;

namespace LiveUpdates.Internal.Transport;

/// <summary>
/// The <see cref="IConnectionTransport"/> of a socket a host's transport accepted (<see cref="WebSocketUpgrade"/>):
/// an abort goes to the host, and there is nothing to release (the host owns its request); safe from any thread.
/// </summary>
internal sealed class RoutedUpgradeTransport(WebSocketUpgrade upgrade) : IConnectionTransport
{
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
    public void Release()
    {
    }

    /// <inheritdoc/>
    public bool IsConnectionLost(Exception exception) => false;
}
