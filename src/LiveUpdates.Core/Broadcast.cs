using LiveUpdates.Internal.Naming;

namespace LiveUpdates;

/// <summary>
/// Static facade over the process's <see cref="IBroadcaster"/>, for code that cannot take one by injection.
/// </summary>
/// <remarks>
/// The hosted service of <c>LiveUpdates.Hosting</c> sets the broadcaster when the server starts and clears it
/// when the server stops (without a host: <see cref="SetBroadcaster(IBroadcaster?)"/> and <see cref="ClearBroadcaster(IBroadcaster)"/>). Before that and after that, <see cref="ToGuild(string, string, object?)"/> does
/// nothing (it still rejects malformed arguments, so a bug shows up on a developer's machine with no server).
/// </remarks>
public static class Broadcast
{
    private static IBroadcaster? s_current;

    /// <summary>The broadcaster that <see cref="ToGuild(string, string, object?)"/> forwards to, or <see langword="null"/> (read by tests).</summary>
    internal static IBroadcaster? Current => Volatile.Read(ref s_current);

    /// <summary>Broadcasts an event to the dashboards viewing <paramref name="guildId"/>, or does nothing when no broadcaster is set.</summary>
    /// <param name="guildId">A Discord guild id (1 to 20 ASCII digits).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The guild id or event name is malformed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public static void ToGuild(string guildId, string eventName, object? data = null)
    {
        var current = Volatile.Read(ref s_current);
        if (current is null)
        {
            LiveNames.ThrowIfInvalidGuildId(guildId);
            LiveNames.ThrowIfInvalidEventName(eventName);
            return;
        }

        current.Broadcast(guildId, eventName, data);
    }

    /// <summary>
    /// Broadcasts an event to the dashboards viewing <paramref name="guildId"/>, given as the <see cref="ulong"/> snowflake
    /// that .NET Discord libraries hand out, or does nothing when no broadcaster is set.
    /// </summary>
    /// <param name="guildId">A Discord guild id (<c>guild.Id</c>).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The event name is malformed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public static void ToGuild(ulong guildId, string eventName, object? data = null) =>
        ToGuild(guildId.ToString(System.Globalization.CultureInfo.InvariantCulture), eventName, data);

    /// <summary>
    /// Broadcasts an event and completes with its position once the broker has it (see
    /// <see cref="IBroadcaster.BroadcastAsync(string, string, object?, CancellationToken)"/>); unlike
    /// <see cref="ToGuild(string, string, object?)"/>, it fails when no broadcaster is set, since the caller must know.
    /// </summary>
    /// <param name="guildId">A Discord guild id (1 to 20 ASCII digits).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the position (the event is still published).</param>
    /// <returns>The event's position in the guild's stream; a task that fails with <see cref="InvalidOperationException"/> when no broadcaster is set.</returns>
    /// <exception cref="ArgumentException">The guild id or event name is malformed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public static Task<Brokers.StreamPosition> ToGuildAsync(string guildId, string eventName, object? data = null, CancellationToken cancellationToken = default)
    {
        var current = Volatile.Read(ref s_current);
        if (current is null)
        {
            LiveNames.ThrowIfInvalidGuildId(guildId);
            LiveNames.ThrowIfInvalidEventName(eventName);
            return Task.FromException<Brokers.StreamPosition>(new InvalidOperationException("No LiveUpdates server is running in this process (Broadcast has no broadcaster): the event was not published."));
        }

        return current.BroadcastAsync(guildId, eventName, data, cancellationToken);
    }

    /// <summary>Broadcasts an event and completes with its position once the broker has it; see <see cref="ToGuildAsync(string, string, object?, CancellationToken)"/>.</summary>
    /// <param name="guildId">A Discord guild id (<c>guild.Id</c>).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <param name="cancellationToken">Stops waiting for the position (the event is still published).</param>
    /// <returns>The event's position in the guild's stream.</returns>
    /// <exception cref="ArgumentException">The event name is malformed.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public static Task<Brokers.StreamPosition> ToGuildAsync(ulong guildId, string eventName, object? data = null, CancellationToken cancellationToken = default) =>
        ToGuildAsync(guildId.ToString(System.Globalization.CultureInfo.InvariantCulture), eventName, data, cancellationToken);

    /// <summary>Sets (or, with <see langword="null"/>, clears) the broadcaster behind the facade.</summary>
    /// <param name="broadcaster">The broadcaster, usually the running <see cref="WebSocketManager"/>.</param>
    public static void SetBroadcaster(IBroadcaster? broadcaster) => Volatile.Write(ref s_current, broadcaster);

    /// <summary>
    /// Clears the facade only if it still points at <paramref name="broadcaster"/>, so a server that stops does not
    /// unset a newer one that has replaced it.
    /// </summary>
    /// <param name="broadcaster">The broadcaster that is going away, usually a <see cref="WebSocketManager"/> that is stopping.</param>
    /// <returns><see langword="true"/> if the facade pointed at <paramref name="broadcaster"/> and is now cleared.</returns>
    public static bool ClearBroadcaster(IBroadcaster broadcaster)
    {
        ArgumentNullException.ThrowIfNull(broadcaster);
        return ReferenceEquals(Interlocked.CompareExchange(ref s_current, null, broadcaster), broadcaster);
    }
}
