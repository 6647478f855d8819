using LiveUpdates.Internal.Connections;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// A subscription handed to the dispatcher loop, so that the replay of missed events and the join of the
/// room happen between two broadcasts: no event is lost or repeated at the seam between replay and live.
/// </summary>
internal sealed class JoinRequest(ClientConnection connection, AuthenticatedUser user, GuildAccess access, long accessVersion, string guildId, long? lastSeq, string? epoch)
{
    /// <summary>Gets or sets the access resolved for the subscription; the dispatcher resolves it again if permissions changed meanwhile.</summary>
    public GuildAccess Access { get; set; } = access;

    /// <summary>Gets <see cref="EventDispatcher.AccessVersion"/> as it was before <see cref="Access"/> was resolved.</summary>
    public long AccessVersion { get; } = accessVersion;

    public ClientConnection Connection { get; } = connection;

    public AuthenticatedUser User { get; } = user;

    public string GuildId { get; } = guildId;

    public long? LastSeq { get; } = lastSeq;

    public string? Epoch { get; } = epoch;

    /// <summary>Completes with <see langword="true"/> when the connection joined the room.</summary>
    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
