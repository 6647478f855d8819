namespace LiveUpdates.Brokers;

/// <summary>One entry of a guild's stream, with its position: an event, or a gap (see <see cref="BrokerMessage.Gap"/>).</summary>
public sealed class Publication
{
    /// <summary>Creates a publication.</summary>
    /// <param name="message">What was published.</param>
    /// <param name="position">The position the broker gave it.</param>
    public Publication(BrokerMessage message, StreamPosition position)
    {
        ArgumentException.ThrowIfNullOrEmpty(message.GuildId, nameof(message));
        ArgumentException.ThrowIfNullOrEmpty(position.Epoch, nameof(position));
        Message = message;
        Position = position;
    }

    /// <summary>Gets what was published.</summary>
    public BrokerMessage Message { get; private set; }

    /// <summary>Gets the guild of the stream.</summary>
    public string GuildId => Message.GuildId;

    /// <summary>Gets the publication's position in its guild's stream.</summary>
    public StreamPosition Position { get; }

    /// <summary>
    /// The frame this server built for the publication, kept so that a publication held in an in-memory history is
    /// serialized once for live delivery and every replay. Set and read only by the dispatch loop.
    /// </summary>
    internal object? LocalFrame { get; private set; }

    /// <summary>
    /// Keeps <paramref name="frame"/> for later deliveries and replays, and points the message's data at its copy
    /// inside the frame (<paramref name="data"/>), so a publication held in history keeps one copy of its payload.
    /// </summary>
    internal void KeepFrame(object frame, ReadOnlyMemory<byte> data)
    {
        LocalFrame = frame;
        if (!data.IsEmpty)
        {
            Message = Message.WithSameData(data);
        }
    }
}
