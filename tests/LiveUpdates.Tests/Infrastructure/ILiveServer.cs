using System.Net.WebSockets;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>A running LiveUpdates server behind one transport, as the transport specification drives it.</summary>
internal interface ILiveServer : IAsyncDisposable
{
    WebSocketManager Manager { get; }

    LiveUpdatesOptions Options { get; }

    /// <summary>Where clients connect (ws:// or wss://).</summary>
    Uri Uri { get; }

    /// <summary>What a client needs to reach this server (e.g. trusting its test certificate).</summary>
    void ConfigureClient(ClientWebSocketOptions options);

    /// <summary>Stops the server the way its host does (the manager, or the whole web app).</summary>
    Task StopAsync();

    Task<TestClient> ConnectAsync();

    /// <summary>Connects, authenticates as <paramref name="userId"/> with access to <paramref name="guilds"/>, and subscribes to <paramref name="subscribe"/>.</summary>
    Task<TestClient> ConnectAuthenticatedAsync(string userId, string[] guilds, params string[] subscribe);

    /// <summary>Waits until every broadcast made so far has been handed to its recipients' queues.</summary>
    Task FlushAsync();
}
