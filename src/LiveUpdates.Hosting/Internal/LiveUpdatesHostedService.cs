using Microsoft.Extensions.Hosting;

namespace LiveUpdates.Hosting.Internal;

/// <summary>Runs the <see cref="WebSocketManager"/> with the host and points the <see cref="Broadcast"/> facade at it while it runs.</summary>
internal sealed class LiveUpdatesHostedService(WebSocketManager manager) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await manager.StartAsync(cancellationToken).ConfigureAwait(false);
        Broadcast.SetBroadcaster(manager);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Broadcast.ClearBroadcaster(manager);
        await manager.StopAsync(cancellationToken).ConfigureAwait(false);
    }
}
