using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal;

/// <summary>What every connection of one server shares: settings, seams, rooms, the dispatcher and the clock.</summary>
internal sealed class ServerContext(
    LiveUpdatesOptions options,
    ITokenValidator tokenValidator,
    IGuildAccessPolicy accessPolicy,
    TimeProvider timeProvider,
    ILogger logger,
    RoomStore rooms,
    EventDispatcher dispatcher,
    LiveUpdatesMetrics metrics)
{
    public LiveUpdatesOptions Options { get; } = options;

    public ITokenValidator TokenValidator { get; } = tokenValidator;

    public IGuildAccessPolicy AccessPolicy { get; } = accessPolicy;

    public TimeProvider TimeProvider { get; } = timeProvider;

    public ILogger Logger { get; } = logger;

    public RoomStore Rooms { get; } = rooms;

    public EventDispatcher Dispatcher { get; } = dispatcher;

    public LiveUpdatesMetrics Metrics { get; } = metrics;

    public OutboundFrame ConnectedFrame { get; } = OutboundFrame.Control(Protocol.ServerMessages.Connected(options.IdleTimeout, options.AuthTimeout));

    /// <summary>Cancelled when the server stops; bounds validator and policy calls.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    public long Now => TimeProvider.GetTimestamp();
}
