namespace LiveUpdates.Backplane;

/// <summary>One broadcast on its way from <see cref="IBroadcaster.Broadcast(string, string, object?)"/> to the local clients of every server instance.</summary>
public readonly struct BackplaneMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="guildId">The guild whose subscribers receive the event.</param>
    /// <param name="eventName">The event name, <c>&lt;plugin&gt;:&lt;action&gt;</c>.</param>
    /// <param name="envelope">The complete event envelope, serialized once as UTF-8 JSON; it is sent to clients byte for byte.</param>
    public BackplaneMessage(string guildId, string eventName, ReadOnlyMemory<byte> envelope)
    {
        GuildId = guildId;
        EventName = eventName;
        Envelope = envelope;
    }

    /// <summary>Gets the guild whose subscribers receive the event.</summary>
    public string GuildId { get; }

    /// <summary>Gets the event name.</summary>
    public string EventName { get; }

    /// <summary>Gets the serialized envelope (UTF-8 JSON); treat it as immutable, it is shared by every recipient.</summary>
    public ReadOnlyMemory<byte> Envelope { get; }
}
