using Microsoft.Extensions.Hosting;

namespace LiveUpdates.AspNetCore.Internal;

/// <summary>
/// Fails the host's start, before any service starts, when <c>UseAspNetCore()</c> turned the HttpListener off but
/// no endpoint maps the server: it would run and accept no socket at all.
/// </summary>
internal sealed class AspNetCoreTransportCheck(AspNetCoreTransport transport) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) =>
        transport.IsMapped
            ? Task.CompletedTask
            : throw new InvalidOperationException(
                "LiveUpdates: services.AddLiveUpdates().UseAspNetCore() turns the server's own HttpListener off, but no endpoint maps the server. " +
                "Call app.MapLiveUpdates(\"/live\") after building the app, or remove UseAspNetCore() to keep the HttpListener on its own port.");

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
