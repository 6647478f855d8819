using LiveUpdates.Internal.Connections;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// A subscription handed to the dispatcher loop, so that the replay of missed events and the join of the
/// room happen between two broadcasts: no event is lost or repeated at the seam between replay and live.
/// </summary>
internal sealed class JoinRequest(ClientConnection connection, AuthenticatedUser user, GuildAccess access, string guildId, long? lastSeq, string? epoch)
{
    public GuildAccess Access { get; } = access;

    public ClientConnection Connection { get; } = connection;

    public AuthenticatedUser User { get; } = user;

    public string GuildId { get; } = guildId;

    public long? LastSeq { get; } = lastSeq;

    public string? Epoch { get; } = epoch;

    /// <summary>Completes with <see langword="true"/> when the connection joined the room.</summary>
    public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}
