namespace LiveUpdates;

/// <summary>Emits events to one room, as returned by <see cref="IBroadcaster.To(string)"/>.</summary>
public interface IRoomEmitter
{
    /// <summary>Broadcasts <paramref name="eventName"/> to the room's guild; see <see cref="IBroadcaster.Broadcast(string, string, object?)"/>.</summary>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The event name is malformed or <paramref name="data"/> cannot be serialized.</exception>
    void Emit(string eventName, object? data = null);

    /// <summary>
    /// Broadcasts <paramref name="eventName"/> to the room's guild and completes with the event's position once the broker
    /// has it, or fails; see <see cref="IBroadcaster.BroadcastAsync(string, string, object?, CancellationToken)"/>.
    /// </summary>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the position (the event is still published).</param>
    /// <returns>The event's position in the guild's stream.</returns>
    /// <exception cref="ArgumentException">The event name is malformed or <paramref name="data"/> cannot be serialized.</exception>
    /// <exception cref="NotSupportedException">This emitter does not confirm broadcasts (the default for implementations written before it existed).</exception>
    Task<Brokers.StreamPosition> EmitAsync(string eventName, object? data = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} does not confirm broadcasts.");
}
