using LiveUpdates.Brokers;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// One item of the dispatch loop's queue. A broadcast, by far the most frequent, is the <see cref="Message"/> itself
/// with no <see cref="Work"/> (no allocation per broadcast); every other kind of work is a typed <see cref="DispatchWork"/>.
/// </summary>
internal readonly record struct DispatchItem(BrokerMessage Message, DispatchWork? Work)
{
    public static DispatchItem Broadcast(BrokerMessage message, BroadcastConfirmation? confirmation = null) => new(message, confirmation);

    /// <summary>Gets whether the item is a broadcast (its <see cref="Message"/> is set; <see cref="Work"/> is nothing or its confirmation).</summary>
    public bool IsBroadcast => Work is null or BroadcastConfirmation;

    public static DispatchItem Of(DispatchWork work) => new(default, work);
}

/// <summary>Work for the dispatch loop other than a broadcast.</summary>
internal abstract class DispatchWork
{
}

/// <summary>
/// A subscription to complete on the loop, so that reading the history, replaying what the client missed and joining
/// the room happen between two fan-outs: no event is lost or repeated at the seam between replay and live.
/// </summary>
internal sealed class JoinWork(ISubscriber subscriber, AuthenticatedUser user, GuildAccess access, long accessVersion, string guildId, StreamPosition? since) : DispatchWork
{
    public ISubscriber Subscriber { get; } = subscriber;

    /// <summary>Gets or sets the session the access was resolved for; replaced when the session was renewed meanwhile.</summary>
    public AuthenticatedUser User { get; set; } = user;

    /// <summary>Gets or sets the access resolved for the subscription; resolved again if permissions or the session changed meanwhile.</summary>
    public GuildAccess Access { get; set; } = access;

    /// <summary>Gets the dispatcher's access version as it was before <see cref="Access"/> was resolved.</summary>
    public long AccessVersion { get; } = accessVersion;

    public string GuildId { get; } = guildId;

    /// <summary>Gets the position the client asked to recover from, if any.</summary>
    public StreamPosition? Since { get; } = since;

    /// <summary>Completes with <see langword="true"/> when the subscriber joined the room.</summary>
    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A join waiting for an asynchronous broker's answer, and what the loop fanned out to its guild meanwhile.</summary>
internal sealed class JoinInFlight(JoinWork join, long accessVersion)
{
    public JoinWork Join { get; } = join;

    /// <summary>Gets the dispatcher's access version when the join's access was last resolved.</summary>
    public long AccessVersion { get; } = accessVersion;

    /// <summary>Gets the frames fanned out to the guild while the answer was on its way, with their positions (refetch signals marked).</summary>
    public List<(StreamPosition Position, OutboundFrame Frame, bool IsRefetch)> Missed { get; } = [];

    public HistoryResult? History { get; set; }

    public Exception? Error { get; set; }
}

/// <summary>An asynchronous broker answered a join: complete it on the loop.</summary>
internal sealed class JoinReadyWork(JoinInFlight join) : DispatchWork
{
    public JoinInFlight Join { get; } = join;
}

/// <summary>Completes when everything queued before it has been handled (and its publications fanned out).</summary>
internal sealed class FlushWork : DispatchWork
{
    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Re-checks the subscriptions of a guild (all, or one user's) after access changed, before anything later is fanned out.</summary>
internal sealed class ReauthorizeWork(string guildId, string? userId) : DispatchWork
{
    public string GuildId { get; } = guildId;

    /// <summary>Gets the user whose subscriptions are re-checked, or <see langword="null"/> for every subscriber of the guild.</summary>
    public string? UserId { get; } = userId;

    public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A publication that the broker delivered from another thread (a broker that delivers on the loop is handled at once).</summary>
internal sealed class DeliverWork(Publication publication) : DispatchWork
{
    public Publication Publication { get; } = publication;
}

/// <summary>The broker lost publications of a guild for this instance: its subscribers must refetch.</summary>
internal sealed class StreamLostWork(string guildId, StreamPosition position) : DispatchWork
{
    public string GuildId { get; } = guildId;

    public StreamPosition Position { get; } = position;
}

/// <summary>
/// The caller of a broadcast waits for its position (<see cref="IBroadcaster.BroadcastAsync(string, string, object?, CancellationToken)"/>):
/// the broadcast travels as any other, in order, and this completes when the broker has numbered it, or fails.
/// </summary>
internal sealed class BroadcastConfirmation : DispatchWork
{
    public TaskCompletionSource<StreamPosition> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>Wakes the loop to handle the notices it keeps outside the queue (dropped broadcasts, emptied rooms).</summary>
internal sealed class WakeWork : DispatchWork
{
    public static readonly WakeWork Instance = new();
}

/// <summary>A room re-check that ran off the loop is done: release its guild (see <see cref="RoomRechecks"/>).</summary>
internal sealed class RecheckDoneWork(string guildId) : DispatchWork
{
    public string GuildId { get; } = guildId;
}
