namespace LiveUpdates.Brokers;

/// <summary>
/// Owns every guild's stream: gives each publication its position (sequence number and epoch), keeps the bounded
/// history, answers "everything after position P, or you must refetch", and delivers publications to every server
/// instance that subscribed to the guild. The default is an in-memory broker for one process; a Redis broker
/// shares the streams between several processes.
/// </summary>
/// <remarks>
/// <para>
/// Per-guild order is established by the broker: the position it gives a publication is its place in the guild's
/// one order, and <see cref="IBrokerHandler.OnPublication"/> delivers publications of a guild in that order,
/// on every instance alike. The server calls <see cref="PublishAsync"/> from its single dispatch loop, so
/// broadcasts of one instance reach the broker in the order they were made.
/// </para>
/// <para>
/// Methods that can complete without I/O should complete synchronously: the server then handles the result on its
/// dispatch loop at once. A broker must never block the caller for network I/O. Whether publications are delivered
/// inline or later, and whether the streams are shared with other instances, is stated by <see cref="Capabilities"/>.
/// </para>
/// <para>
/// Whether a reader's position can be recovered is decided by one rule for every broker,
/// <see cref="HistoryResult.FromStream"/>: a broker reads what its stream still holds after the position and lets
/// that rule answer.
/// </para>
/// </remarks>
public interface IBroker
{
    /// <summary>Gets what the broker promises about its delivery; the server reads it once, when it starts.</summary>
    BrokerCapabilities Capabilities { get; }

    /// <summary>Starts the broker; publications are delivered to <paramref name="handler"/> from then on.</summary>
    /// <param name="handler">Receives publications and losses.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when the broker is ready (a broker whose backing service is down may complete and reconnect by itself).</returns>
    Task StartAsync(IBrokerHandler handler, CancellationToken cancellationToken);

    /// <summary>Appends <paramref name="message"/> to its guild's stream and publishes it to every subscribed instance.</summary>
    /// <param name="message">The event or gap.</param>
    /// <param name="cancellationToken">Cancels the wait (not necessarily the publication).</param>
    /// <returns>The position the publication got.</returns>
    ValueTask<StreamPosition> PublishAsync(BrokerMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Reads <paramref name="guildId"/>'s stream after <paramref name="since"/>: every publication after it, or
    /// "refetch" when some are no longer held; with <paramref name="since"/> <see langword="null"/>, only the current position.
    /// </summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="since">The reader's last position, or <see langword="null"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The answer.</returns>
    ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken);

    /// <summary>
    /// This instance has subscribers for <paramref name="guildId"/>: deliver its publications from now on. The server
    /// calls it once per guild when the guild's first local client subscribes, before it reads the history for that client.
    /// </summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="cancellationToken">Cancels the subscription.</param>
    /// <returns>A task that completes when publications of the guild are being delivered.</returns>
    ValueTask SubscribeAsync(string guildId, CancellationToken cancellationToken);

    /// <summary>This instance has no subscriber left for <paramref name="guildId"/>.</summary>
    /// <param name="guildId">The guild.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>A task that completes when the broker has taken note.</returns>
    ValueTask UnsubscribeAsync(string guildId, CancellationToken cancellationToken);

    /// <summary>Stops the broker; nothing is delivered after the returned task completes.</summary>
    /// <param name="cancellationToken">Bounds how long stopping may take.</param>
    /// <returns>A task that completes when the broker has stopped.</returns>
    Task StopAsync(CancellationToken cancellationToken);
}
