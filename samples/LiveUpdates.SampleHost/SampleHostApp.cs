using System.Security.Cryptography;
using LiveUpdates;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.SampleHost.Security;
using LiveUpdates.Security;

namespace LiveUpdates.SampleHost;

/// <summary>
/// A bot host in miniature: the LiveUpdates WebSocket server (port 3002, env WS_PORT) beside a small HTTP API on
/// 127.0.0.1:3001 (env API_PORT) whose routes mirror the bot's plugin API. Runs with no MongoDB and no Redis.
/// </summary>
public static class SampleHostApp
{
    public const string DevGuildId = "123456789012345678";
    public const string DevUserId = "100000000000000001";

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);

        var apiPort = builder.Configuration["API_PORT"] ?? "3001";
        builder.WebHost.UseUrls($"http://127.0.0.1:{apiPort}");

        // With no AUTH_SECRET the sample makes one up, so a newcomer can connect within a minute.
        var secret = builder.Configuration["AUTH_SECRET"] ?? builder.Configuration[$"{LiveUpdatesOptions.SectionName}:AuthSecret"];
        var generated = string.IsNullOrEmpty(secret);
        if (generated)
        {
            secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        }

        builder.Services.AddLiveUpdates(builder.Configuration.GetSection(LiveUpdatesOptions.SectionName), o =>
        {
            if (string.IsNullOrEmpty(o.AuthSecret))
            {
                o.AuthSecret = secret;
            }
        });
        builder.Services.AddSingleton<IGuildMemberSource, TokenGuildsMemberSource>(); // → the dashboard permission model
        builder.Services.AddSingleton<ModerationConfigService>();
        customize?.Invoke(builder);

        var app = builder.Build();
        app.MapModerationApi();
        app.Lifetime.ApplicationStarted.Register(() => PrintBanner(app, generated ? secret : null));
        return app;
    }

    private static void PrintBanner(WebApplication app, string? generatedSecret)
    {
        var server = app.Services.GetRequiredService<WebSocketManager>();
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LiveUpdatesOptions>>().Value;
        var port = options.Port;
        var secret = options.AuthSecret!;
        var generated = string.Equals(secret, generatedSecret, StringComparison.Ordinal);
        var token = DevelopmentTokens.Create(secret, DevUserId, [DevGuildId], TimeSpan.FromHours(24));
        var api = app.Urls.FirstOrDefault() ?? "http://127.0.0.1:3001";
        Console.WriteLine($$"""

            ── LiveUpdates sample host ─────────────────────────────────────────────
            WebSocket server : ws://localhost:{{port}}  ({{server.Prefix}})
            HTTP API         : {{api}}
            AUTH_SECRET      : {{(generated ? secret + "   (generated: set AUTH_SECRET to keep one)" : "(from your environment)")}}
            Dev token        : {{token}}
                               (user {{DevUserId}}, guild {{DevGuildId}}, valid 24 h)

            1) In any browser tab's console:
               const ws = new WebSocket("ws://localhost:{{port}}");
               ws.onmessage = e => console.log(JSON.parse(e.data));
               ws.onopen = () => {
                 ws.send(JSON.stringify({ type: "auth", token: "{{token}}" }));
                 ws.send(JSON.stringify({ type: "subscribe", guildId: "{{DevGuildId}}" }));
               };
            2) In a terminal:
               curl -X PUT {{api}}/api/guilds/{{DevGuildId}}/moderation/config \
                 -H 'Content-Type: application/json' -d '{"automod":true,"_dashboardUserId":"{{DevUserId}}"}'
            3) The console logs the moderation:config_updated event.
            ────────────────────────────────────────────────────────────────────────

            """);
    }
}
