namespace LiveUpdates;

/// <summary>
/// Emits <c>&lt;plugin&gt;:&lt;action&gt;</c> events to every dashboard client that is viewing a guild.
/// Plugin services take it by injection and call <see cref="Broadcast(string, string, object?)"/> right after a write.
/// </summary>
/// <remarks>
/// Implementations return at once: the event is serialized on the caller's thread (so later changes to
/// <c>data</c> do not leak into it) and handed to a background dispatcher. Delivery problems (no server,
/// a client gone, a full queue) never surface as exceptions; only programming errors do.
/// </remarks>
public interface IBroadcaster
{
    /// <summary>Broadcasts <paramref name="eventName"/> with <paramref name="data"/> to the subscribers of <paramref name="guildId"/>.</summary>
    /// <param name="guildId">A Discord guild id (a snowflake: 1 to 20 ASCII digits).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>, e.g. <see cref="LiveEvents.Moderation.ConfigUpdated"/>.</param>
    /// <param name="data">The payload, serialized once with System.Text.Json (camelCase); <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The guild id or event name is malformed, or <paramref name="data"/> cannot be serialized to JSON.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    void Broadcast(string guildId, string eventName, object? data = null);

    /// <summary>
    /// Broadcasts <paramref name="eventName"/> with <paramref name="data"/> to the subscribers of <paramref name="guildId"/>,
    /// given as the <see cref="ulong"/> snowflake that .NET Discord libraries hand out (<c>guild.Id</c>); the same as
    /// <see cref="Broadcast(string, string, object?)"/> with its decimal form.
    /// </summary>
    /// <param name="guildId">A Discord guild id.</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>, e.g. <see cref="LiveEvents.Moderation.ConfigUpdated"/>.</param>
    /// <param name="data">The payload, serialized once with System.Text.Json (camelCase); <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The event name is malformed, or <paramref name="data"/> cannot be serialized to JSON.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    void Broadcast(ulong guildId, string eventName, object? data = null) =>
        Broadcast(guildId.ToString(System.Globalization.CultureInfo.InvariantCulture), eventName, data);

    /// <summary>
    /// Broadcasts like <see cref="Broadcast(string, string, object?)"/> and completes once the broker has given the event
    /// its position in the guild's stream — from then on every subscribed instance delivers it and a client that
    /// reconnects from before it recovers it — or fails when it did not get one. For callers that must know (an audit
    /// trail, a job that retries); everyone else keeps the fire-and-forget call, which never waits for the broker.
    /// </summary>
    /// <remarks>
    /// The task fails with <see cref="InvalidOperationException"/> when the server is not running, its dispatch queue is
    /// full or it stops before publishing, and with the broker's exception when the broker could not publish (for Redis:
    /// unreachable beyond its retries). A failed event is invisible to every client, except in one case: a connection
    /// lost after Redis ran the publish leaves the outcome unknown, and then the event may still be delivered. The
    /// broadcast is ordered with every other broadcast of this instance as usual; cancelling stops the wait only, not the broadcast.
    /// </remarks>
    /// <param name="guildId">A Discord guild id (a snowflake: 1 to 20 ASCII digits).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>, e.g. <see cref="LiveEvents.Moderation.ConfigUpdated"/>.</param>
    /// <param name="data">The payload, serialized once with System.Text.Json (camelCase); <see langword="null"/> sends <c>{}</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the position (the event is still published).</param>
    /// <returns>The event's position: its sequence number and epoch in the guild's stream.</returns>
    /// <exception cref="ArgumentException">The guild id or event name is malformed, or <paramref name="data"/> cannot be serialized to JSON.</exception>
    /// <exception cref="NotSupportedException">This implementation does not confirm broadcasts (the default for implementations written before it existed).</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    Task<Brokers.StreamPosition> BroadcastAsync(string guildId, string eventName, object? data = null, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException($"{GetType().Name} does not confirm broadcasts; WebSocketManager does.");

    /// <summary>
    /// Broadcasts and waits for the event's position, like <see cref="BroadcastAsync(string, string, object?, CancellationToken)"/>,
    /// with the guild id as the <see cref="ulong"/> snowflake .NET Discord libraries hand out.
    /// </summary>
    /// <param name="guildId">A Discord guild id.</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the position (the event is still published).</param>
    /// <returns>The event's position in the guild's stream.</returns>
    /// <exception cref="ArgumentException">The event name is malformed, or <paramref name="data"/> cannot be serialized to JSON.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    Task<Brokers.StreamPosition> BroadcastAsync(ulong guildId, string eventName, object? data = null, CancellationToken cancellationToken = default) =>
        BroadcastAsync(guildId.ToString(System.Globalization.CultureInfo.InvariantCulture), eventName, data, cancellationToken);

    /// <summary>
    /// Returns an emitter for a room named <c>guild:{guildId}</c>, the Socket.IO-style shape that existing
    /// services such as the modmail WebSocket service were written against.
    /// </summary>
    /// <param name="room">The room name, <c>guild:</c> followed by a guild id.</param>
    /// <returns>An emitter that broadcasts to that guild.</returns>
    /// <exception cref="ArgumentException">The room name is not of the form <c>guild:{guildId}</c>.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "The name mirrors the Socket.IO-style adapter that existing plugin services call (<c>io.to(room).emit(…)</c>).")]
    IRoomEmitter To(string room);

    /// <summary>Returns an emitter for the room of <paramref name="guildId"/> (<c>guild:{guildId}</c>), given as a <see cref="ulong"/> snowflake.</summary>
    /// <param name="guildId">A Discord guild id, as .NET Discord libraries hand it out.</param>
    /// <returns>An emitter that broadcasts to that guild.</returns>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1716:Identifiers should not match keywords", Justification = "The overload of To(string room) for a guild's room.")]
    IRoomEmitter To(ulong guildId) => To("guild:" + guildId.ToString(System.Globalization.CultureInfo.InvariantCulture));
}
