namespace LiveUpdates.Brokers;

/// <summary>
/// Implemented by a broker that depends on a service which can be down (Redis): its state becomes part of
/// <see cref="WebSocketManager.GetHealth"/>. A broker that does not implement it is taken to be always available.
/// </summary>
public interface IBrokerHealth
{
    /// <summary>Gets the broker's state now; must be cheap and must not block.</summary>
    /// <returns>The broker's report.</returns>
    BrokerHealth GetHealth();
}
