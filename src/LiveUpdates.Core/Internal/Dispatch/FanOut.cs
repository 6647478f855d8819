using System.Text.Json;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Subscriptions;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Hands the broker's publications to the guild rooms: per recipient one enqueue of a frame serialized once, never a
/// serialization or a send; runs of one guild go together (one lock and one wake-up per recipient), a permission change
/// or a gap has its room re-checked first (off the loop, holding only its guild), and joins in flight are told what went
/// out meanwhile. Called on the dispatch loop only.
/// </summary>
internal sealed class FanOut(RoomStore rooms, PublicationFrames frames, RoomRechecks rechecks, JoinCoordinator joins, Func<bool> hasBacklog, ILogger logger)
{
    /// <summary>
    /// At most this many publications of one guild go out together. A tuning bound, not a limit anyone sees: it caps
    /// the scratch list and how long one guild's run holds the loop.
    /// </summary>
    public const int MaxRun = 64;

    private readonly List<Publication> _pending = [];
    private readonly List<OutboundFrame> _run = [];

    /// <summary>Gets a value indicating whether publications wait to be fanned out.</summary>
    public bool HasPending => _pending.Count > 0;

    /// <summary>Takes a publication the broker delivered; it goes out with the next <see cref="Flush"/>.</summary>
    public void Add(Publication publication) => _pending.Add(publication);

    /// <summary>Forgets what waits (the loop failed on it and logged it).</summary>
    public void Discard() => _pending.Clear();

    /// <summary>
    /// Fans the pending publications out, a run of one guild at a time. A permission change or a gap starts its room's
    /// re-check off the loop and holds the guild (it and what follows for the guild go out once the re-check is done,
    /// see <see cref="RoomRechecks"/>); a publication of a held guild waits there; other guilds are not held up.
    /// </summary>
    public void Flush()
    {
        var count = _pending.Count;
        var i = 0;
        while (i < count)
        {
            var publication = _pending[i];
            var guildId = publication.GuildId;
            if (rechecks.IsHeld(guildId))
            {
                rechecks.Defer(guildId, new HeldItem(publication, null));
                i++;
                continue;
            }

            if (IsPermissionChange(publication.Message) || publication.Message.IsGap)
            {
                // A gap may stand for a lost permission change: the room is re-checked before anything after it.
                // The announcement of a permission change is itself delivered under the new permissions.
                rechecks.Start(guildId, MemberOf(publication.Message), new HeldItem(publication, null, Rechecked: true));
                i++;
                continue;
            }

            _run.Clear();
            var j = i;
            do
            {
                var frame = frames.FrameOf(_pending[j]);
                _run.Add(frame);
                joins.Record(guildId, _pending[j].Position, frame, isRefetch: false);
                j++;
            }
            while (j < count && _run.Count < MaxRun &&
                   string.Equals(_pending[j].GuildId, guildId, StringComparison.Ordinal) && !IsPermissionChange(_pending[j].Message) && !_pending[j].Message.IsGap);

            Deliver(guildId, _run);
            i = j;
        }

        _pending.RemoveRange(0, count);
        _run.Clear();
    }

    /// <summary>Fans out, alone, the publication whose room re-check (see <see cref="Flush"/>) is done.</summary>
    public void DeliverRechecked(Publication publication)
    {
        _run.Clear();
        var frame = frames.FrameOf(publication);
        _run.Add(frame);
        joins.Record(publication.GuildId, publication.Position, frame, isRefetch: false);
        Deliver(publication.GuildId, _run);
        _run.Clear();
    }

    /// <summary>
    /// The guild's subscribers here lost publications up to <paramref name="position"/>: its room's access is re-checked
    /// first, off the loop (what was lost may have been a permission change), then every subscriber is told to refetch
    /// (<see cref="DeliverRefetch"/>). A guild held by a re-check already gets the signal after it.
    /// </summary>
    public void SignalRefetch(string guildId, StreamPosition position)
    {
        var lost = new StreamLostWork(guildId, position);
        if (rechecks.IsHeld(guildId))
        {
            rechecks.Defer(guildId, new HeldItem(null, lost));
            return;
        }

        rechecks.Start(guildId, null, new HeldItem(null, lost, Rechecked: true));
    }

    /// <summary>Tells every subscriber of <paramref name="guildId"/> here to refetch; its room has been re-checked (see <see cref="SignalRefetch"/>).</summary>
    public void DeliverRefetch(string guildId, StreamPosition position)
    {
        DispatchLog.StreamLost(logger, guildId, position.Seq);
        _run.Clear();
        var frame = PublicationFrames.RefetchFrame(guildId, position);
        _run.Add(frame);
        joins.Record(guildId, position, frame, isRefetch: true);
        Deliver(guildId, _run);
        _run.Clear();
    }

    /// <summary>Whether <paramref name="message"/> announces an access change, of the guild or of one member (fanned out alone, after the re-check).</summary>
    public static bool IsPermissionChange(in BrokerMessage message) =>
        string.Equals(message.EventName, LiveEvents.Dashboard.PermissionsUpdated, StringComparison.Ordinal) ||
        string.Equals(message.EventName, LiveEvents.Dashboard.MemberAccessUpdated, StringComparison.Ordinal);

    /// <summary>
    /// The user a member access change names (<c>{"userId":"…"}</c>), or <see langword="null"/> to re-check every member:
    /// a guild change, a gap, or a member change whose payload names nobody readable (when in doubt, everyone).
    /// </summary>
    private static string? MemberOf(in BrokerMessage message)
    {
        if (!string.Equals(message.EventName, LiveEvents.Dashboard.MemberAccessUpdated, StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            var reader = new Utf8JsonReader(message.Data.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isUser = reader.ValueTextEquals("userId"u8);
                reader.Read();
                if (isUser)
                {
                    return reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private void Deliver(string guildId, List<OutboundFrame> run)
    {
        var members = rooms.GetMembers(guildId);
        if (run.Count > 1)
        {
            foreach (var member in members)
            {
                member.Deliver(run);
            }

            return;
        }

        // With nothing else waiting, idle clients are written to directly from here; with a backlog, frames are
        // queued so the clients' writers drain them in parallel and pack them for batch clients.
        var writeDirectly = !hasBacklog();
        foreach (var member in members)
        {
            member.Deliver(run[0], writeDirectly);
        }
    }
}
