using System.Net;
using System.Net.Sockets;

namespace LiveUpdates.Tests.Infrastructure;

internal static class Ports
{
    /// <summary>A TCP port that was free a moment ago (HttpListener cannot bind port 0).</summary>
    public static int GetFree()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
