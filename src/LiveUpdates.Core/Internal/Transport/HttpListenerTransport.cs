using System.Net;
using LiveUpdates.Internal.Admission;
using LiveUpdates.Internal.Connections;

namespace LiveUpdates.Internal.Transport;

/// <summary>
/// The <see cref="HttpListener"/> side of one upgraded socket: owns its <see cref="HttpListenerContext"/>, which it
/// aborts when the connection is torn down and releases at clean-up, with the connection's admission slot (its client
/// address in <paramref name="limiter"/>); safe to call from any thread.
/// </summary>
internal sealed class HttpListenerTransport(HttpListenerContext context, ConnectionLimiter limiter, string address) : IConnectionTransport
{
    /// <inheritdoc/>
    public string? RemoteEndPoint
    {
        get
        {
            try
            {
                return context.Request.RemoteEndPoint?.ToString();
            }
            catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException)
            {
                return null;
            }
        }
    }

    /// <inheritdoc/>
    /// <remarks>On Linux, WebSocket.Abort leaves HttpListener's TCP connection open (dotnet/runtime#58614); aborting the response closes it.</remarks>
    public void Abort() => AbortResponse();

    /// <inheritdoc/>
    /// <remarks>On Linux, HttpListener otherwise keeps its per-connection context for its own lifetime; aborting the response releases it.</remarks>
    public void Release()
    {
        AbortResponse();
        limiter.Release(address);
    }

    /// <inheritdoc/>
    public bool IsConnectionLost(Exception exception) => exception is HttpListenerException;

    private void AbortResponse()
    {
        try
        {
            context.Response.Abort();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Already closed.
        }
    }
}
