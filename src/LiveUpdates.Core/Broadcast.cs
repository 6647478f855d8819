using LiveUpdates.Internal.Naming;

namespace LiveUpdates;

/// <summary>
/// Static facade over the process's <see cref="IBroadcaster"/>, for code that cannot take one by injection.
/// </summary>
/// <remarks>
/// The hosted service of <c>LiveUpdates.Hosting</c> sets the broadcaster when the server starts and clears it
/// when the server stops. Before that and after that, <see cref="ToGuild(string, string, object?)"/> does
/// nothing (it still rejects malformed arguments, so a bug shows up on a developer's machine with no server).
/// </remarks>
public static class Broadcast
{
    private static IBroadcaster? s_current;

    /// <summary>Gets the broadcaster that <see cref="ToGuild(string, string, object?)"/> forwards to, or <see langword="null"/>.</summary>
    public static IBroadcaster? Current => Volatile.Read(ref s_current);

    /// <summary>Broadcasts an event to the dashboards viewing <paramref name="guildId"/>, or does nothing when no broadcaster is set.</summary>
    /// <param name="guildId">A Discord guild id (1 to 20 ASCII digits).</param>
    /// <param name="eventName">An event name <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The payload; <see langword="null"/> sends <c>{}</c>.</param>
    /// <exception cref="ArgumentException">The guild id or event name is malformed.</exception>
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

    /// <summary>Sets (or, with <see langword="null"/>, clears) the broadcaster behind the facade.</summary>
    /// <param name="broadcaster">The broadcaster, usually the running <see cref="WebSocketManager"/>.</param>
    public static void SetBroadcaster(IBroadcaster? broadcaster) => Volatile.Write(ref s_current, broadcaster);

    /// <summary>Clears the facade only if it still points at <paramref name="expected"/>, so a newer server is not unset by an older one stopping.</summary>
    internal static bool ClearIf(IBroadcaster expected) =>
        ReferenceEquals(Interlocked.CompareExchange(ref s_current, null, expected), expected);
}
