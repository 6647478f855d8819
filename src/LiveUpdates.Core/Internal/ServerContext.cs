using LiveUpdates.Internal.Connections;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal;

/// <summary>What every connection of one server shares: settings, seams, rooms and the clock.</summary>
internal sealed class ServerContext
{
    public ServerContext(
        LiveUpdatesOptions options,
        ITokenValidator tokenValidator,
        IGuildAccessPolicy accessPolicy,
        TimeProvider timeProvider,
        ILogger logger)
    {
        Options = options;
        TokenValidator = tokenValidator;
        AccessPolicy = accessPolicy;
        TimeProvider = timeProvider;
        Logger = logger;
        ConnectedFrame = Protocol.ServerMessages.Connected(options.IdleTimeout, options.AuthTimeout);
    }

    public LiveUpdatesOptions Options { get; }

    public ITokenValidator TokenValidator { get; }

    public IGuildAccessPolicy AccessPolicy { get; }

    public TimeProvider TimeProvider { get; }

    public ILogger Logger { get; }

    public RoomStore Rooms { get; } = new();

    public byte[] ConnectedFrame { get; }

    /// <summary>Cancelled when the server stops; bounds validator and policy calls.</summary>
    public CancellationTokenSource Stopping { get; } = new();

    public long Now => TimeProvider.GetTimestamp();

    public TimeSpan Elapsed(long since) => TimeProvider.GetElapsedTime(since);
}
