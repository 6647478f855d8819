using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// The dispatch loop's log messages, shared by the loop and its collaborators: they all log under the one
/// <c>LiveUpdates.Internal.Dispatch.Dispatcher</c> category, so what users filter on did not change when the loop was split.
/// </summary>
internal static partial class DispatchLog
{
    [LoggerMessage(12, LogLevel.Error, "The dispatch queue is full ({Capacity}): {Dropped} broadcast(s) dropped since the last report, the latest {EventName} for guild {GuildId}; their guilds' subscribers are told to refetch")]
    public static partial void DispatchQueueFull(ILogger logger, int capacity, long dropped, string eventName, string guildId);

    [LoggerMessage(18, LogLevel.Error, "The dispatcher failed on {EventName} for guild {GuildId}")]
    public static partial void DispatchFailed(ILogger logger, Exception exception, string eventName, string guildId);

    [LoggerMessage(20, LogLevel.Error, "The broker failed to publish {Count} broadcast(s) since the last report, the latest {EventName} for guild {GuildId}")]
    public static partial void PublishFailed(ILogger logger, Exception exception, long count, string eventName, string guildId);

    [LoggerMessage(21, LogLevel.Warning, "Guild {GuildId} lost events up to seq {Seq} on this server; its subscribers were told to refetch")]
    public static partial void StreamLost(ILogger logger, string guildId, long seq);

    [LoggerMessage(23, LogLevel.Error, "The access policy failed while re-checking subscriber {SubscriberId} of guild {GuildId}; its subscription ends (it may subscribe again)")]
    public static partial void RecheckFailed(ILogger logger, Exception exception, long subscriberId, string guildId);
}
