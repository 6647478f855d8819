namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// One frame on its way to clients: the bytes, shared by every recipient, and what the send queue needs to know
/// about it. Built once per broadcast by the dispatcher (or once per control message).
/// </summary>
internal sealed class OutboundFrame
{
    private OutboundFrame(byte[] bytes, string? guildId, string? eventName, long seq, bool latestValue, string? category, long timestamp = 0)
    {
        Timestamp = timestamp;
        Bytes = bytes;
        GuildId = guildId;
        EventName = eventName;
        Seq = seq;
        IsLatestValue = latestValue;
        Category = category;
    }

    public byte[] Bytes { get; }

    /// <summary>Gets when an event was broadcast, in Unix milliseconds (0 for control frames): the start of its delivery latency.</summary>
    public long Timestamp { get; }

    /// <summary>Gets the guild of an event or guild control frame; <see langword="null"/> for connection control frames.</summary>
    public string? GuildId { get; }

    /// <summary>Gets the event name of an event frame; <see langword="null"/> for control frames.</summary>
    public string? EventName { get; }

    /// <summary>Gets the event's position in its guild's stream (0 for control frames).</summary>
    public long Seq { get; }

    /// <summary>Gets a value indicating whether a newer event of the same name and guild makes this one obsolete (e.g. <c>*:config_updated</c>).</summary>
    public bool IsLatestValue { get; }

    /// <summary>Gets the permission category whose users receive this event, or <see langword="null"/> when every subscriber does.</summary>
    public string? Category { get; }

    public static OutboundFrame Control(byte[] bytes) => new(bytes, null, null, 0, latestValue: false, category: null);

    /// <summary>A control frame about one guild's stream (e.g. <c>refetch</c>): filtered by subscription like an event, but not by category, and never coalesced.</summary>
    public static OutboundFrame GuildControl(byte[] bytes, string guildId, long seq) => new(bytes, guildId, null, seq, latestValue: false, category: null);

    public static OutboundFrame Event(byte[] bytes, string guildId, string eventName, long seq, bool latestValue, string? category = null, long timestamp = 0) =>
        new(bytes, guildId, eventName, seq, latestValue, category, timestamp);

    /// <summary>Gets a value indicating whether <paramref name="newer"/> supersedes this frame.</summary>
    public bool IsSupersededBy(OutboundFrame newer) =>
        IsLatestValue && newer.IsLatestValue &&
        string.Equals(GuildId, newer.GuildId, StringComparison.Ordinal) &&
        string.Equals(EventName, newer.EventName, StringComparison.Ordinal);
}
