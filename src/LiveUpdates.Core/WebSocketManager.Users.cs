using System.Globalization;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Dispatch;
using Microsoft.Extensions.Logging;

namespace LiveUpdates;

/// <summary>Revocation by user: a user signed out or blocked everywhere loses every socket, on every instance.</summary>
public sealed partial class WebSocketManager
{
    /// <summary>
    /// Closes every socket authenticated as <paramref name="userId"/> — the user signed out of the dashboard, or was
    /// blocked — with close code 4001 and reason <c>USER_DISCONNECTED</c>: their subscriptions end at once (nothing
    /// broadcast after the call reaches them) and what was queued for them is dropped. The official client treats
    /// that close as final and does not reconnect. With a broker shared by several instances (Redis) the request also
    /// goes to every other instance, through the broker's control stream, and closes the user's sockets there.
    /// </summary>
    /// <remarks>
    /// This ends what is open; it does not stop the user from connecting again with a token they still hold. Stop
    /// issuing them tokens where the dashboard makes them (connection tokens live minutes), and refuse them in your
    /// <see cref="Security.IGuildAccessPolicy"/> if they may not see a guild any more (see
    /// <see cref="InvalidateMemberAccessAsync(string, string, CancellationToken)"/>).
    /// </remarks>
    /// <param name="userId">The user's id, as the token names it (for Discord, the user's snowflake).</param>
    /// <param name="cancellationToken">Not used to undo anything: the sockets are closed whatever happens to it.</param>
    /// <returns>A task that completes when this instance's sockets of the user are closing and the request to the other instances is queued.</returns>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the id's type (string or ulong), never in which arguments may be left out.")]
    public Task DisconnectUserAsync(string userId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        if (Volatile.Read(ref _state) != Running)
        {
            return Task.CompletedTask;
        }

        var closed = DisconnectLocally(userId);
        UsersLog.DisconnectRequested(_logger, userId, closed);
        if ((_broker.Capabilities & BrokerCapabilities.Shared) != 0)
        {
            _dispatcher.Post(ControlStream.DisconnectUserMessage(userId, _time.GetUtcNow().ToUnixTimeMilliseconds()));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Closes every socket of a user, with the <see cref="ulong"/> snowflakes .NET Discord libraries hand out; see
    /// <see cref="DisconnectUserAsync(string, CancellationToken)"/>.
    /// </summary>
    /// <param name="userId">The user's Discord id.</param>
    /// <param name="cancellationToken">Not used to undo anything.</param>
    /// <returns>A task that completes when this instance's sockets of the user are closing.</returns>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the id's type (string or ulong), never in which arguments may be left out.")]
    public Task DisconnectUserAsync(ulong userId, CancellationToken cancellationToken = default) =>
        DisconnectUserAsync(userId.ToString(CultureInfo.InvariantCulture), cancellationToken);

    /// <summary>Watches the control stream when the broker is shared (at start-up, after the broker started).</summary>
    private async Task WatchControlStreamAsync(CancellationToken cancellationToken)
    {
        if ((_broker.Capabilities & BrokerCapabilities.Shared) == 0)
        {
            return;
        }

        try
        {
            await _broker.SubscribeAsync(ControlStream.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The broker reconnects its subscriptions itself; until it does, disconnects reach this instance's own sockets only.
            UsersLog.ControlStreamUnavailable(_logger, ex);
        }
    }

    /// <summary>A control message from another instance (or this one's own, which finds nothing left to close).</summary>
    private void OnControlMessage(BrokerMessage message)
    {
        if (ControlStream.TryReadDisconnectUser(message, out var userId))
        {
            DisconnectLocally(userId);
        }
    }

    private int DisconnectLocally(string userId)
    {
        var closed = 0;
        foreach (var connection in _connections.Snapshot())
        {
            if (connection.DisconnectUser(userId))
            {
                closed++;
            }
        }

        return closed;
    }

    private static partial class UsersLog
    {
        [LoggerMessage(62, LogLevel.Information, "User {UserId} was disconnected by the host: {Closed} socket(s) closed on this instance")]
        public static partial void DisconnectRequested(ILogger logger, string userId, int closed);

        [LoggerMessage(63, LogLevel.Warning, "The broker's control stream could not be watched; user disconnects from other instances will not reach this one until the broker reconnects")]
        public static partial void ControlStreamUnavailable(ILogger logger, Exception exception);
    }
}
