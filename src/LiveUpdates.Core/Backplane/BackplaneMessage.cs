namespace LiveUpdates.Backplane;

/// <summary>One broadcast on its way from <see cref="IBroadcaster.Broadcast(string, string, object?)"/> to the local clients of every server instance.</summary>
public readonly struct BackplaneMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="guildId">The guild whose subscribers receive the event.</param>
    /// <param name="eventName">The event name, <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="data">The event's data, serialized once as UTF-8 JSON on the broadcaster's thread.</param>
    /// <param name="timestamp">When the event was broadcast, in Unix milliseconds.</param>
    public BackplaneMessage(string guildId, string eventName, ReadOnlyMemory<byte> data, long timestamp)
    {
        GuildId = guildId;
        EventName = eventName;
        Data = data;
        Timestamp = timestamp;
    }

    /// <summary>Gets the guild whose subscribers receive the event.</summary>
    public string GuildId { get; }

    /// <summary>Gets the event name.</summary>
    public string EventName { get; }

    /// <summary>Gets the serialized data (UTF-8 JSON); treat it as immutable, it is shared by every recipient.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>Gets when the event was broadcast, in Unix milliseconds (the envelope's <c>timestamp</c>).</summary>
    public long Timestamp { get; }
}
