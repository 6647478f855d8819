namespace LiveUpdates.Tests.Infrastructure;

/// <summary>How the sample host serves its WebSocket: on the HttpListener's own port (default) or on the API's port.</summary>
public enum SampleTransport
{
    /// <summary>The default: the HttpListener on <c>LiveUpdates:Port</c>.</summary>
    HttpListener,

    /// <summary><c>SampleHost:OnePort=true</c>: the ASP.NET Core endpoint <c>/live</c> on the API's port.</summary>
    OnePort,
}
