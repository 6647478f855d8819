using LiveUpdates.Internal.Delivery;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Subscriptions;

/// <summary>
/// A member of guild rooms, as the dispatcher sees it: something that takes frames of the guilds it subscribed to,
/// filters them against its subscriptions, and takes the access a re-check gives it. A connection implements it.
/// </summary>
internal interface ISubscriber
{
    /// <summary>Gets the subscriber's id, for logs.</summary>
    long Id { get; }

    /// <summary>Gets the user of the current session, or <see langword="null"/> between sessions.</summary>
    AuthenticatedUser? User { get; }

    /// <summary>
    /// Delivers a frame of one guild if the subscriber is subscribed to it and may see its category. With
    /// <paramref name="writeDirectly"/>, an idle subscriber is written to on the calling thread.
    /// </summary>
    void Deliver(OutboundFrame frame, bool writeDirectly);

    /// <summary>Delivers a run of frames of one guild, in order, as many <see cref="Deliver(OutboundFrame, bool)"/> calls would.</summary>
    void Deliver(List<OutboundFrame> frames);

    /// <summary>
    /// Completes a subscription on the dispatch loop: queues <paramref name="subscribed"/> and the replayed frames and
    /// joins the room, unless the session changed or the connection is closing. Nothing is fanned out meanwhile.
    /// Every call answers the client once: <c>subscribed</c>, or an error when the session changed.
    /// </summary>
    /// <returns><see langword="true"/> when the subscriber joined (or already was in) the room.</returns>
    bool CompleteJoin(AuthenticatedUser user, GuildAccess access, string guildId, byte[] subscribed, IReadOnlyList<OutboundFrame> replay);

    /// <summary>Refuses a subscription whose access (<paramref name="access"/>) a re-check on the dispatch loop denied: the client gets FORBIDDEN.</summary>
    void RefuseJoin(string guildId, GuildAccess access);

    /// <summary>Gets the user the subscriber is subscribed to <paramref name="guildId"/> as, or <see langword="null"/> when it is not subscribed.</summary>
    AuthenticatedUser? SubscribedAs(string guildId);

    /// <summary>
    /// Applies the access a re-check resolved for <paramref name="user"/>'s subscription to <paramref name="guildId"/>:
    /// a new feature filter, or the end of the subscription with FORBIDDEN. Ignored when the subscription or the
    /// session changed meanwhile.
    /// </summary>
    void ApplyAccess(string guildId, AuthenticatedUser user, GuildAccess access);
}
