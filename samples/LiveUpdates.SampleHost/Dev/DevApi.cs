using System.Net;
using LiveUpdates.SampleHost.Bot;
using Microsoft.Extensions.Options;

namespace LiveUpdates.SampleHost.Dev;

/// <summary>
/// <c>GET /dev/token</c>: hands the sample dashboard page a development session token and the WebSocket URL.
/// It exists only in this sample, only in the Development environment (SampleHostApp maps it there only), answers
/// only loopback callers, and stands in for what a real dashboard does on its server (see docs/dashboard.md).
/// <c>POST /dev/members/{guildId}/{userId}/remove|restore</c> and <c>POST /dev/users/{userId}/sign-out</c> raise the
/// simulated bot's member events (<see cref="MemberEventsSimulator"/>).
/// </summary>
public static class DevApi
{
    public static readonly TimeSpan TokenLifetime = TimeSpan.FromHours(1);

    public static void MapDevApi(this WebApplication app)
    {
        var members = app.MapGroup("/dev").AddEndpointFilter(async (context, next) =>
            context.HttpContext.Connection.RemoteIpAddress is { } remote && IPAddress.IsLoopback(remote) ? await next(context) : Results.NotFound());
        members.MapPost("/members/{guildId}/{userId}/remove", async (string guildId, string userId, MemberEventsSimulator bot) =>
        {
            await bot.RemoveAsync(guildId, userId);
            return Results.NoContent();
        });
        members.MapPost("/members/{guildId}/{userId}/restore", async (string guildId, string userId, MemberEventsSimulator bot) =>
        {
            await bot.RestoreAsync(guildId, userId);
            return Results.NoContent();
        });
        members.MapPost("/users/{userId}/sign-out", async (string userId, MemberEventsSimulator bot) =>
        {
            await bot.SignOutAsync(userId);
            return Results.NoContent();
        });

        app.MapGet("/dev/token", (HttpContext context, IOptions<LiveUpdatesOptions> options) =>
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
                wsUrl = WebSocketUrl(context.Request, o),
            });
        });
    }

    /// <summary>The WebSocket server as the browser reaches it: the page's host name, the server's port and path.</summary>
    public static string WebSocketUrl(HttpRequest request, LiveUpdatesOptions options) =>
        $"ws://{request.Host.Host}:{options.Port}{options.Path}";
}
