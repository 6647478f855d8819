namespace LiveUpdates.Brokers;

/// <summary>
/// Receives what a broker delivers to this server instance. The server implements it; a broker calls it.
/// Calls for one guild come in stream order; they must not block and do not throw.
/// </summary>
public interface IBrokerHandler
{
    /// <summary>A publication of a guild this instance subscribed to, including this instance's own publications.</summary>
    /// <param name="publication">The publication, in stream order for its guild.</param>
    void OnPublication(Publication publication);

    /// <summary>
    /// The broker could not deliver every publication of <paramref name="guildId"/> up to <paramref name="position"/>
    /// to this instance and could not repair it (for example a lost pub/sub message that is no longer in the stream,
    /// or a stream that lost its history): this instance's subscribers of the guild must refetch.
    /// </summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="position">The stream's position after the loss; delivery goes on after it.</param>
    void OnStreamLost(string guildId, StreamPosition position);
}
