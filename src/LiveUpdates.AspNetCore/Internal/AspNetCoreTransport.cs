namespace LiveUpdates.AspNetCore.Internal;

/// <summary>
/// Registered by <c>UseAspNetCore()</c>: says the host chose the ASP.NET Core transport, and records whether an
/// endpoint was mapped (set by <c>MapLiveUpdates</c> while the app is built, read once when the host starts).
/// </summary>
internal sealed class AspNetCoreTransport
{
    private int _endpoints;

    public bool IsMapped => Volatile.Read(ref _endpoints) > 0;

    public void EndpointMapped() => Interlocked.Increment(ref _endpoints);
}
