using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace LiveUpdates.Internal.Naming;

/// <summary>The syntax of guild ids, event names and room names, checked on every public entry point.</summary>
internal static class LiveNames
{
    /// <summary>Discord snowflakes are unsigned 64-bit integers: at most 20 decimal digits.</summary>
    internal const int MaxGuildIdLength = 20;
    internal const int MaxPluginLength = 32;
    internal const int MaxActionLength = 64;
    internal const string GuildRoomPrefix = "guild:";

    public static bool IsValidGuildId([NotNullWhen(true)] string? guildId)
    {
        if (string.IsNullOrEmpty(guildId) || guildId.Length > MaxGuildIdLength)
        {
            return false;
        }

        foreach (var c in guildId)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidEventName([NotNullWhen(true)] string? eventName)
    {
        if (string.IsNullOrEmpty(eventName))
        {
            return false;
        }

        var colon = eventName.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon > MaxPluginLength)
        {
            return false;
        }

        var plugin = eventName.AsSpan(0, colon);
        var action = eventName.AsSpan(colon + 1);
        if (action.Length == 0 || action.Length > MaxActionLength)
        {
            return false;
        }

        foreach (var c in plugin)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'))
            {
                return false;
            }
        }

        foreach (var c in action)
        {
            if (!(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A plugin (and permission category) name: [a-z0-9-], 1 to 32 characters.</summary>
    public static bool IsValidPlugin([NotNullWhen(true)] string? plugin) =>
        !string.IsNullOrEmpty(plugin) && IsValidEventName(plugin + ":x");

    public static void ThrowIfInvalidGuildId([NotNull] string? guildId, [CallerArgumentExpression(nameof(guildId))] string? paramName = null)
    {
        if (!IsValidGuildId(guildId))
        {
            throw new ArgumentException(
                $"'{Truncate(guildId)}' is not a guild id: expected a Discord snowflake of 1 to {MaxGuildIdLength} ASCII digits.",
                paramName);
        }
    }

    public static void ThrowIfInvalidEventName([NotNull] string? eventName, [CallerArgumentExpression(nameof(eventName))] string? paramName = null)
    {
        if (!IsValidEventName(eventName))
        {
            throw new ArgumentException(
                $"'{Truncate(eventName)}' is not an event name: expected '<plugin>:<action>' with plugin [a-z0-9-]{{1,{MaxPluginLength}}} and action [a-z0-9_]{{1,{MaxActionLength}}}, e.g. 'moderation:config_updated'.",
                paramName);
        }
    }

    /// <summary>Extracts the guild id from a room name <c>guild:{guildId}</c>.</summary>
    public static string GuildIdFromRoom([NotNull] string? room, [CallerArgumentExpression(nameof(room))] string? paramName = null)
    {
        if (room is null || !room.StartsWith(GuildRoomPrefix, StringComparison.Ordinal) || !IsValidGuildId(room[GuildRoomPrefix.Length..]))
        {
            throw new ArgumentException(
                $"'{Truncate(room)}' is not a room name: expected 'guild:<guildId>' with a Discord snowflake guild id.",
                paramName);
        }

        return room[GuildRoomPrefix.Length..];
    }

    private static string Truncate(string? value) =>
        value is null ? "(null)" : value.Length <= 80 ? value : string.Concat(value.AsSpan(0, 80), "…");
}
