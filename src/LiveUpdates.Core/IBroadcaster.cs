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
