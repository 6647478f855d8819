namespace LiveUpdates.SampleHost.Plugins;

/// <summary>
/// Marks the C# type a plugin broadcasts as the payload of <see cref="EventName"/>. The TypeScript declaration
/// of the event vocabulary (<c>clients/js/live-events.d.ts</c>) takes its payload shapes from these types, so the
/// dashboard's types cannot drift from what the bot sends (a test regenerates the file and compares).
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
public sealed class LiveEventPayloadAttribute(string eventName) : Attribute
{
    /// <summary>The event, one of the <see cref="LiveEvents"/> constants.</summary>
    public string EventName { get; } = eventName;
}
