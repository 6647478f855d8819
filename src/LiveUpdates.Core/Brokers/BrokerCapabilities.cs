namespace LiveUpdates.Brokers;

/// <summary>
/// What a broker promises about how it delivers publications (<see cref="IBroker.Capabilities"/>). The server reads it
/// once, when it starts, and chooses its dispatch path from it: it never inspects the broker's type.
/// </summary>
[Flags]
public enum BrokerCapabilities
{
    /// <summary>
    /// No promise beyond <see cref="IBroker"/>'s: publications may be delivered later, from the broker's own threads,
    /// and calls may complete asynchronously; the streams belong to this instance alone (see <see cref="Shared"/>).
    /// </summary>
    None = 0,

    /// <summary>
    /// Every publication is delivered to <see cref="IBrokerHandler.OnPublication"/> on the thread that called
    /// <see cref="IBroker.PublishAsync"/>, before that call returns, and never from any other call or thread; every
    /// method completes synchronously. The server then fans publications out on its dispatch loop without a queue hop,
    /// and answers a subscription in the same turn as its history read.
    /// </summary>
    InlineDelivery = 1,

    /// <summary>
    /// The streams are shared with other server instances (another process may publish to the same guild and deliver
    /// to its own clients). The server then also announces a guild's permission change through the stream, so that
    /// every instance re-checks its clients at the same point of the guild's order. A broker whose streams other
    /// processes publish to must declare it: without it, a permission change reaches only this instance's clients.
    /// </summary>
    Shared = 2,
}
