namespace LiveUpdates.Brokers;

/// <summary>
/// What the server asks a broker to append to a guild's stream: an event, or a gap. A gap takes a position like
/// an event but carries nothing: it records that an event of that guild was lost before it could be published
/// (for example because the dispatch queue was full), so that nobody recovers across it as if nothing had been missed.
/// </summary>
public readonly struct BrokerMessage
{
    private BrokerMessage(string guildId, string? eventName, ReadOnlyMemory<byte> data, long timestamp)
    {
        GuildId = guildId;
        EventName = eventName;
        Data = data;
        Timestamp = timestamp;
    }

    /// <summary>Gets the guild whose stream the message is appended to.</summary>
    public string GuildId { get; }

    /// <summary>Gets the event name, <c>&lt;plugin&gt;:&lt;action&gt;</c>; <see langword="null"/> for a gap.</summary>
    public string? EventName { get; }

    /// <summary>Gets the event's data, serialized once as UTF-8 JSON; empty for a gap. Treat it as immutable.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Gets when the event was broadcast, in Unix milliseconds.</summary>
    public long Timestamp { get; }

    /// <summary>Gets a value indicating whether this message is a gap rather than an event.</summary>
    public bool IsGap => EventName is null;

    /// <summary>The same message over <paramref name="data"/>, which must hold the same bytes (a slice of the frame that contains them).</summary>
    internal BrokerMessage WithSameData(ReadOnlyMemory<byte> data) => new(GuildId, EventName, data, Timestamp);

    /// <summary>Creates an event message.</summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="eventName">The event name.</param>
    /// <param name="data">The serialized data (UTF-8 JSON).</param>
    /// <param name="timestamp">When it was broadcast, in Unix milliseconds.</param>
    /// <returns>The message.</returns>
    public static BrokerMessage Event(string guildId, string eventName, ReadOnlyMemory<byte> data, long timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(guildId);
        ArgumentException.ThrowIfNullOrEmpty(eventName);
        return new BrokerMessage(guildId, eventName, data, timestamp);
    }

    /// <summary>Creates a gap message: one lost event of <paramref name="guildId"/>.</summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="timestamp">When the loss was noticed, in Unix milliseconds.</param>
    /// <returns>The message.</returns>
    public static BrokerMessage Gap(string guildId, long timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(guildId);
        return new BrokerMessage(guildId, null, ReadOnlyMemory<byte>.Empty, timestamp);
    }
}
