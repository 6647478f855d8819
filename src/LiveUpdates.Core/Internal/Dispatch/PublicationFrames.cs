using LiveUpdates.Brokers;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Protocol;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Turns a publication into the frame every recipient shares, serialized once and kept on the publication, so that a
/// publication held in an in-memory history is serialized once for live delivery and every replay. Called on the
/// dispatch loop only (a publication's frame is set and read by the loop alone).
/// </summary>
internal sealed class PublicationFrames(EventTraits traits)
{
    /// <summary>Gets the frame of <paramref name="publication"/>: an event envelope, or a refetch signal for a gap.</summary>
    public OutboundFrame FrameOf(Publication publication)
    {
        if (publication.LocalFrame is OutboundFrame frame)
        {
            return frame;
        }

        var message = publication.Message;
        var position = publication.Position;
        var data = ReadOnlyMemory<byte>.Empty;
        if (message.EventName is not { } eventName)
        {
            frame = RefetchFrame(message.GuildId, position);
        }
        else
        {
            var bytes = EnvelopeSerializer.SerializeEvent(eventName, message.GuildId, message.Data.Span, message.Timestamp, position.Seq, position.Epoch, out var offset);
            frame = OutboundFrame.Event(bytes, message.GuildId, eventName, position.Seq, traits.IsLatestValue(eventName), traits.CategoryOf(eventName), message.Timestamp);
            data = bytes.AsMemory(offset, message.Data.Length);
        }

        publication.KeepFrame(frame, data);
        return frame;
    }

    /// <summary>The in-band signal that the guild's subscribers lost publications up to <paramref name="position"/> and must refetch.</summary>
    public static OutboundFrame RefetchFrame(string guildId, StreamPosition position) =>
        OutboundFrame.GuildControl(ServerMessages.Refetch(guildId, position.Epoch, position.Seq), guildId, position.Seq);
}
