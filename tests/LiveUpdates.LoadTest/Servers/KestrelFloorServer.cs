using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The floor under the ASP.NET Core transport's memory per connection: Kestrel configured as for
/// <c>liveupdates-aspnetcore</c>, its WebSocket middleware accepting with the same keep-alive LiveUpdates asks for, and the
/// socket held exactly as <see cref="HttpListenerFloorServer"/> holds it (<see cref="HttpListenerFloorServer.HoldSocketAsync"/>).
/// Measured in the idle scenario only: the ASP.NET Core transport's own share is its memory per connection minus this one.
/// </summary>
internal sealed class KestrelFloorServer : IBenchServer
{
    private readonly ConcurrentDictionary<WebSocket, byte> _sockets = new();
    private readonly LiveUpdatesOptions _defaults = new();
    private WebApplication? _app;

    public string Name => "kestrel-floor";

    public int ConnectionCount => _sockets.Count;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long>();

    public IReadOnlyList<BenchSetting> Settings { get; } = [];

    public async Task StartAsync(int port, string secret)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
                return;
            }

            var socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext { KeepAliveInterval = _defaults.KeepAliveInterval });
            await HttpListenerFloorServer.HoldSocketAsync(socket, _sockets, _defaults.ReceiveBufferBytes);
        });
        await app.StartAsync();
        _app = app;
    }

    public void Broadcast(string guildId, string eventName, object data)
    {
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var socket in _sockets.Keys)
        {
            socket.Abort();
        }

        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
