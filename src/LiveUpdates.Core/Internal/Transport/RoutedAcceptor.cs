using System.Net.WebSockets;
using LiveUpdates.Internal.Admission;
using LiveUpdates.Transports;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Transport;

/// <summary>
/// Takes upgrades a host's transport routed to the server (<see cref="WebSocketManager.AcceptAsync"/>), as the
/// <see cref="WebSocketListener"/> takes HttpListener's: the same admission decision and connection limits, a refusal
/// explained in the log (once a second per rule), the handshake within <c>HandshakeTimeout</c>, then the connection.
/// Thread-safe: called from the host's request threads.
/// </summary>
internal sealed partial class RoutedAcceptor(
    LiveUpdatesOptions options,
    AdmissionPolicy admission,
    ConnectionLimiter limiter,
    TimeProvider time,
    ILogger logger,
    Func<bool> isRunning,
    Func<AcceptedSocket, Task> onAccepted)
{
    private readonly LogThrottles _refusalLog = new(time);

    public Task AcceptAsync(WebSocketUpgrade upgrade, CancellationToken cancellationToken)
    {
        var decision = admission.DecideRouted(isRunning(), upgrade.Origin, upgrade.ClientAddress);
        if (decision.IsAdmitted)
        {
            decision = limiter.TryAcquire(decision.Address);
        }

        if (!decision.IsAdmitted)
        {
            // Explained at Information, at most once a second per rule (a browser never shows a refused upgrade's status).
            if (_refusalLog.Count(decision.Rule, out var suppressed))
            {
                Log.Refused(logger, upgrade.RemoteEndPoint, (int)decision.Status, decision.Rule, decision.Reason, suppressed);
            }
            else
            {
                Log.RefusedQuietly(logger, upgrade.RemoteEndPoint, (int)decision.Status, decision.Rule);
            }

            return upgrade.RefuseAsync(decision.Status, decision.Message).WaitAsync(cancellationToken);
        }

        // The host's handshake usually completes at once; then the connection's own task is returned and no state
        // machine here waits out the connection's life (an idle connection holds only its own).
        var handshake = HandshakeAsync(upgrade, decision.Address, cancellationToken);
        return handshake.IsCompletedSuccessfully ? Run(handshake.Result) : RunAfterHandshakeAsync(handshake);
    }

    private Task Run(AcceptedSocket? accepted) => accepted is { } socket ? onAccepted(socket) : Task.CompletedTask;

    private async Task RunAfterHandshakeAsync(Task<AcceptedSocket?> handshake) =>
        await Run(await handshake.ConfigureAwait(false)).ConfigureAwait(false);

    /// <summary>The upgrade within <c>HandshakeTimeout</c>; <see langword="null"/> when it failed (the slot is given back and the request aborted).</summary>
    private async Task<AcceptedSocket?> HandshakeAsync(WebSocketUpgrade upgrade, string address, CancellationToken cancellationToken)
    {
        WebSocket socket;
        try
        {
            socket = await upgrade.AcceptAsync().WaitAsync(options.HandshakeTimeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is WebSocketException or TimeoutException or OperationCanceledException or IOException)
        {
            limiter.Release(address);
            Log.UpgradeFailed(logger, upgrade.RemoteEndPoint, ex.Message);
            upgrade.Abort();
            return null;
        }
        catch
        {
            limiter.Release(address);
            throw;
        }

        return new AcceptedSocket(socket, new RoutedUpgradeTransport(upgrade, limiter, address));
    }

    // The same ids and words as the HttpListener's refusals (WebSocketListener), under the upgrade's category.
    private static partial class Log
    {
        [LoggerMessage(24, LogLevel.Information, "Refused a WebSocket request from {RemoteEndPoint} with HTTP {Status} (rule {Rule}): {Reason}. {Suppressed} more refusal(s) by this rule since its last line")]
        public static partial void Refused(ILogger logger, string? remoteEndPoint, int status, string rule, string reason, long suppressed);

        [LoggerMessage(15, LogLevel.Debug, "Refused WebSocket upgrade from {RemoteEndPoint}: {Status} ({Rule})")]
        public static partial void RefusedQuietly(ILogger logger, string? remoteEndPoint, int status, string rule);

        [LoggerMessage(22, LogLevel.Debug, "WebSocket upgrade from {RemoteEndPoint} failed: {Error}")]
        public static partial void UpgradeFailed(ILogger logger, string? remoteEndPoint, string error);
    }
}
