using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Transports;

/// <summary>The transport specification over the server's own HttpListener.</summary>
[TestFixture]
public sealed class HttpListenerTransportTests : TransportSpecification
{
    private protected override async Task<ILiveServer> StartServerCoreAsync(Action<LiveUpdatesOptions>? configure) =>
        await TestServer.StartAsync(configure);
}
