using LiveUpdates.Backplane;

namespace LiveUpdates.Internal.Delivery;

/// <summary>The default backplane: a single instance, so a published message goes straight to local delivery.</summary>
internal sealed class InProcessBackplane : IBackplane
{
    private Action<BackplaneMessage>? _deliver;

    public Task StartAsync(Action<BackplaneMessage> deliverLocally, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(deliverLocally);
        Volatile.Write(ref _deliver, deliverLocally);
        return Task.CompletedTask;
    }

    public void Publish(in BackplaneMessage message) => Volatile.Read(ref _deliver)?.Invoke(message);

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _deliver, null);
        return Task.CompletedTask;
    }
}
