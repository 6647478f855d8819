using System.Net;
using LiveUpdates.SampleHost.Hosting;
using Microsoft.Extensions.Options;

namespace LiveUpdates.SampleHost.Dev;

/// <summary>
/// <c>GET /dev/token</c>: hands the sample dashboard page a development session token and the WebSocket URL.
/// It exists only in this sample, answers only loopback callers, and stands in for what a real dashboard
/// does on its server (read the user's NextAuth/Auth.js session cookie, see docs/dashboard.md).
/// </summary>
public static class DevApi
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);

    public static void MapDevApi(this WebApplication app)
    {
        app.MapGet("/dev/token", (HttpContext context, IOptions<LiveUpdatesOptions> options, IConfiguration configuration) =>
        {
            if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote))
            {
                return Results.NotFound();
            }

            var o = options.Value;
            var token = DevelopmentTokens.Create(o.AuthSecret!, SampleHostApp.DevUserId, SampleHostApp.DevGuildIds, TokenLifetime);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new
            {
                token,
                userId = SampleHostApp.DevUserId,
                guilds = SampleHostApp.DevGuildIds,
                wsUrl = OnePortMode.WebSocketUrl(context.Request, o, configuration),
            });
        });
    }
}
