using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Hosting.Internal;

/// <summary>Runs the <see cref="WebSocketManager"/> with the host and points the <see cref="Broadcast"/> facade at it while it runs.</summary>
internal sealed partial class LiveUpdatesHostedService(
    WebSocketManager manager,
    IOptions<LiveUpdatesOptions> options,
    IHostEnvironment? environment = null,
    ILogger<LiveUpdatesHostedService>? logger = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await manager.StartAsync(cancellationToken).ConfigureAwait(false);
        Broadcast.SetBroadcaster(manager);

        // A browser-facing port that takes sockets from any page is fine on a developer's machine only.
        if (options.Value.AllowedOrigins.Count == 0 && environment?.IsDevelopment() != true)
        {
            Log.AnyOrigin(logger ?? (ILogger)NullLogger.Instance, environment?.EnvironmentName ?? "unknown", LiveUpdatesOptions.SectionName);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Broadcast.ClearBroadcaster(manager);
        await manager.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Warning, "LiveUpdates accepts WebSocket connections from any origin (environment {Environment}): any web page can open a socket with a visitor's token. Set {Section}:AllowedOrigins to the dashboard's origin(s), e.g. https://dashboard.example.com")]
        public static partial void AnyOrigin(ILogger logger, string environment, string section);
    }
}
