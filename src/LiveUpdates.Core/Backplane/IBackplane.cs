namespace LiveUpdates.Backplane;

/// <summary>
/// Carries broadcasts between <see cref="IBroadcaster"/> and local delivery. The default passes them straight
/// through in-process; a Redis pub/sub backplane carries them to every bot instance.
/// </summary>
public interface IBackplane
{
    /// <summary>Starts the backplane. Every message published by any instance, this one included, must then be passed to <paramref name="deliverLocally"/>, in publish order per guild.</summary>
    /// <param name="deliverLocally">Hands a message to this instance's dispatcher; it does not block and does not throw.</param>
    /// <param name="cancellationToken">Cancels start-up.</param>
    /// <returns>A task that completes when the backplane is ready.</returns>
    Task StartAsync(Action<BackplaneMessage> deliverLocally, CancellationToken cancellationToken);

    /// <summary>Publishes a message. Called on the broadcaster's thread: it must return at once and never throw for network problems.</summary>
    /// <param name="message">The message.</param>
    void Publish(in BackplaneMessage message);

    /// <summary>Stops the backplane; no message is delivered after the returned task completes.</summary>
    /// <param name="cancellationToken">Bounds how long stopping may take.</param>
    /// <returns>A task that completes when the backplane has stopped.</returns>
    Task StopAsync(CancellationToken cancellationToken);
}
