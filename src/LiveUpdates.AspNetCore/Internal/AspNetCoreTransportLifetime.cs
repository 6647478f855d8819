using Microsoft.Extensions.Hosting;

namespace LiveUpdates.AspNetCore.Internal;

/// <summary>
/// The ASP.NET Core transport's part in the host's start and stop. Starting: fails the host, before any service
/// starts, when <c>UseAspNetCore()</c> turned the HttpListener off but no endpoint maps the server (it would accept no
/// socket at all). Stopping: stops the server before any hosted service stops, because the web server stops first
/// (WebApplication starts it last) and would otherwise wait out its shutdown timeout on the open sockets, which end
/// only when the server closes them with 1001.
/// </summary>
internal sealed class AspNetCoreTransportLifetime(AspNetCoreTransport transport, WebSocketManager manager) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) =>
        transport.IsMapped
            ? Task.CompletedTask
            : throw new InvalidOperationException(
                "LiveUpdates: services.AddLiveUpdates().UseAspNetCore() turns the server's own HttpListener off, but no endpoint maps the server. " +
                "Call app.MapLiveUpdates(\"/live\") after building the app, or remove UseAspNetCore() to keep the HttpListener on its own port.");

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => manager.StopAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
