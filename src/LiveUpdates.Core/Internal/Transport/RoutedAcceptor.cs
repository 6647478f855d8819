using System.Net.WebSockets;
using LiveUpdates.Internal.Admission;
using LiveUpdates.Internal.Connections;
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

    public async Task AcceptAsync(WebSocketUpgrade upgrade, CancellationToken cancellationToken)
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

            await upgrade.RefuseAsync(decision.Status, decision.Message).WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        var address = decision.Address;
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
            return;
        }
        catch
        {
            limiter.Release(address);
            throw;
        }

        var request = new ConnectionRequest(upgrade.RemoteEndPoint, address, upgrade.Origin);
        await onAccepted(new AcceptedSocket(socket, request, new RoutedUpgradeTransport(upgrade), () => limiter.Release(address))).ConfigureAwait(false);
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
