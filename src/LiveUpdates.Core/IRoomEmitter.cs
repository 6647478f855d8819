namespace LiveUpdates;

/// <summary>Emits events to one room, as returned by <see cref="IBroadcaster.To(string)"/>.</summary>
public interface IRoomEmitter
{
    /// <summary>Broadcasts <paramref name="eventName"/> to the room's guild; see <see cref="IBroadcaster.Broadcast(string, string, object?)"/>.</summary>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The event name is malformed or <paramref name="data"/> cannot be serialized.</exception>
    void Emit(string eventName, object? data = null);
}
