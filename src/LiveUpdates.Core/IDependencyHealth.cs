namespace LiveUpdates;

/// <summary>
/// Implemented by a part that depends on a service which can be down (a Redis broker, a MongoDB permission store):
/// its state becomes part of <see cref="WebSocketManager.GetHealth"/>. A part that does not implement it is taken to
/// be always available. An access policy reports for the store it reads.
/// </summary>
public interface IDependencyHealth
{
    /// <summary>Gets the part's state now; must be cheap and must not block.</summary>
    /// <returns>The part's report.</returns>
    DependencyHealth GetHealth();
}

/// <summary>What a part says of itself: whether it reaches the service it depends on, and why not.</summary>
/// <param name="IsAvailable">Whether the part reaches its backing service (always <see langword="true"/> in memory).</param>
/// <param name="Description">A short explanation, e.g. the last error.</param>
public sealed record DependencyHealth(bool IsAvailable, string Description);
