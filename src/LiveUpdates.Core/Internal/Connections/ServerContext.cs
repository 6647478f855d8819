using LiveUpdates.Internal.Admission;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Dispatch;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Connections;

/// <summary>What every connection of one server shares: settings, seams, rooms, the dispatcher, loggers and the clock.</summary>
internal sealed class ServerContext(
    LiveUpdatesOptions options,
    ITokenValidator tokenValidator,
    IGuildAccessPolicy accessPolicy,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory,
    RoomStore rooms,
    Dispatcher dispatcher,
    LiveUpdatesMetrics metrics,
    CancellationTokenSource stopping)
{
    public LiveUpdatesOptions Options { get; } = options;

    public ITokenValidator TokenValidator { get; } = tokenValidator;

    public IGuildAccessPolicy AccessPolicy { get; } = accessPolicy;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public ILogger ConnectionLogger { get; } = loggerFactory.CreateLogger<ClientConnection>();

    public ILogger WriterLogger { get; } = loggerFactory.CreateLogger<ClientWriter>();

    public RoomStore Rooms { get; } = rooms;

    public Dispatcher Dispatcher { get; } = dispatcher;

    public LiveUpdatesMetrics Metrics { get; } = metrics;

    public OutboundFrame ConnectedFrame { get; } = OutboundFrame.Control(Protocol.ServerMessages.Connected(options.IdleTimeout, options.AuthTimeout));

    /// <summary>Cancelled when the server stops; bounds validator and policy calls.</summary>
    public CancellationTokenSource Stopping { get; } = stopping;

    /// <summary>Rate-limits the Information lines that explain refused tokens and guilds, per reason, across every connection.</summary>
    public LogThrottles RefusalLog { get; } = new(timeProvider);

    /// <summary>Counts authenticated connections per user (<see cref="LiveUpdatesOptions.MaxConnectionsPerUser"/>).</summary>
    public UserConnectionLimiter UserConnections { get; } = new(options.MaxConnectionsPerUser);

    public long Now => TimeProvider.GetTimestamp();
}
