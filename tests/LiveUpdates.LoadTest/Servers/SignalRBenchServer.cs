using System.Net;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The SignalR peer: what a .NET developer gets from ASP.NET Core SignalR with its default options. A hub at
/// <c>/hub</c> behind JWT bearer authentication (the token in <c>access_token</c> on the upgrade, as SignalR's own
/// docs show for WebSockets), a <c>Subscribe(guildId)</c> method that adds the connection to the guild's group when
/// the token's <c>guilds</c> claim names it, and broadcasts through
/// <c>IHubContext.Clients.Group(guildId).SendAsync("event", envelope)</c>, serialized once per group send by
/// SignalR's JSON hub protocol. The plugin awaits its send, as SignalR code does: when a member's pipe is full the
/// call waits (SignalR's back-pressure; it has no slow-consumer cut).
/// </summary>
internal sealed class SignalRBenchServer : IBenchServer
{
    public const string HubPath = "/hub";

    private readonly ConnectionCounter _counter = new();
    private WebApplication? _app;
    private IHubContext<GuildHub>? _hub;

    public string Name => "signalr";

    public int ConnectionCount => _counter.Count;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long> { ["send_faults"] = Interlocked.Read(ref _counter.SendFaults) };

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
        builder.Services.AddSingleton(_counter);
        builder.Services.AddSignalR();
        builder.Services.AddAuthorization();
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(o =>
        {
            o.MapInboundClaims = false;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)),
                ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
                ValidateIssuer = false,
                ValidateAudience = false,
                ClockSkew = TimeSpan.FromSeconds(30),
            };
            o.Events = new JwtBearerEvents
            {
                // Browsers cannot set headers on a WebSocket: SignalR sends the token in the query string.
                OnMessageReceived = context =>
                {
                    if (context.Request.Path.StartsWithSegments(HubPath) && context.Request.Query["access_token"] is { Count: > 0 } token)
                    {
                        context.Token = token;
                    }

                    return Task.CompletedTask;
                },
            };
        });
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapHub<GuildHub>(HubPath);
        await app.StartAsync();
        _hub = app.Services.GetRequiredService<IHubContext<GuildHub>>();
        _app = app;
    }

    public void Broadcast(string guildId, string eventName, object data)
    {
        var send = _hub!.Clients.Group(guildId).SendAsync("event", new Envelope(eventName, guildId, data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        if (!send.IsCompletedSuccessfully)
        {
            // The plugin's `await`: the driver's thread is a dedicated one, so blocking it here is that await.
            try
            {
                send.GetAwaiter().GetResult();
            }
            catch (Exception)
            {
                Interlocked.Increment(ref _counter.SendFaults);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
    }

    private sealed record Envelope(string Event, string GuildId, object Data, long Timestamp);

    internal sealed class ConnectionCounter
    {
        public int Count;
        public long SendFaults;
    }

    [Authorize]
    internal sealed class GuildHub(ConnectionCounter counter) : Hub
    {
        public override Task OnConnectedAsync()
        {
            Interlocked.Increment(ref counter.Count);
            return Task.CompletedTask;
        }

        public override Task OnDisconnectedAsync(Exception? exception)
        {
            Interlocked.Decrement(ref counter.Count);
            return Task.CompletedTask;
        }

        public async Task<string> Subscribe(string guildId)
        {
            if (!Context.User!.FindAll("guilds").Any(c => c.Value == guildId))
            {
                throw new HubException("FORBIDDEN");
            }

            await Groups.AddToGroupAsync(Context.ConnectionId, guildId);
            return guildId;
        }

        public Task Unsubscribe(string guildId) => Groups.RemoveFromGroupAsync(Context.ConnectionId, guildId);
    }
}
