using System.Security.Cryptography;
using LiveUpdates.SampleHost.Bot;
using LiveUpdates.SampleHost.Data;
using LiveUpdates.SampleHost.Dev;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.SampleHost.Plugins.Modmail;
using LiveUpdates.SampleHost.Plugins.Tags;
using LiveUpdates.SampleHost.Security;
using LiveUpdates.Security;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.FileProviders;

namespace LiveUpdates.SampleHost;

/// <summary>
/// A bot host in miniature: the LiveUpdates WebSocket server (port 3002, env WS_PORT) beside a small HTTP API on
/// 127.0.0.1:3001 (env API_PORT) whose routes mirror the bot's plugin API, the sample dashboard page served from
/// <c>wwwroot</c> on that same port, and a simulated bot raising auto-mod infractions. No MongoDB unless
/// <c>MONGODB_URI</c> is set (then the dashboard permissions are read from it), no Redis unless <c>REDIS_URL</c> is
/// set (then several instances share every guild's stream: <c>samples/scale-out.sh</c> runs two).
/// </summary>
public static class SampleHostApp
{
    public const string DevGuildId = "123456789012345678";
    public const string OtherDevGuildId = "876543210987654321";
    public const string DevUserId = "100000000000000001";

    /// <summary>The guilds the development token opens.</summary>
    public static readonly string[] DevGuildIds = [DevGuildId, OtherDevGuildId];

    /// <summary>The origin of a dashboard in development (<c>next dev</c>), allowed besides the sample's own page.</summary>
    public const string DevDashboardOrigin = "http://localhost:3000";

    /// <summary>Where the dashboard page's files are: copied next to the program by the build (with the JS client under <c>lib/</c>).</summary>
    public static string WebRoot => Path.Combine(AppContext.BaseDirectory, "wwwroot");

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? customize = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);

        var apiPort = builder.Configuration["API_PORT"] ?? "3001";
        // API_HOST=0.0.0.0 in a container, where the port is published; 127.0.0.1 everywhere else.
        var apiHost = builder.Configuration["API_HOST"] ?? "127.0.0.1";
        builder.WebHost.UseUrls($"http://{apiHost}:{apiPort}");

        // With no AUTH_SECRET the sample makes one up, so a newcomer can connect within a minute.
        var secret = builder.Configuration["AUTH_SECRET"] ?? builder.Configuration[$"{LiveUpdatesOptions.SectionName}:AuthSecret"];
        var generated = string.IsNullOrEmpty(secret);
        if (generated)
        {
            secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        }

        var liveUpdates = builder.Services.AddLiveUpdates(builder.Configuration.GetSection(LiveUpdatesOptions.SectionName), o =>
        {
            if (string.IsNullOrEmpty(o.AuthSecret))
            {
                o.AuthSecret = secret;
            }

            // Only the sample's own page and a dashboard in development may connect from a browser (configuration,
            // e.g. LiveUpdates__AllowedOrigins__0=https://dashboard.example.net, adds the deployed dashboard).
            foreach (var origin in (string[])[$"http://127.0.0.1:{apiPort}", $"http://localhost:{apiPort}", DevDashboardOrigin])
            {
                if (!o.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase))
                {
                    o.AllowedOrigins.Add(origin);
                }
            }
        });

        // The sample decides in code which optional parts it adds: MongoDB when the deployment gives it one, and the
        // Redis broker (several instances, one set of dashboards) when it gives a Redis.
        if (!string.IsNullOrEmpty(builder.Configuration["MONGODB_URI"]))
        {
            liveUpdates.AddMongoPermissionStore();
        }

        if (!string.IsNullOrEmpty(builder.Configuration["REDIS_URL"]))
        {
            liveUpdates.AddRedis(builder.Configuration.GetSection($"{LiveUpdatesOptions.SectionName}:Redis"));
        }

        builder.Services.AddSingleton<SampleMemberCache>();
        builder.Services.AddSingleton<IGuildMemberSource, TokenGuildsMemberSource>(); // → the dashboard permission model
        builder.Services.AddSingleton<MemberEventsSimulator>();

        builder.Services.TryAddSingleton<SampleDatabase>();
        builder.Services.AddSingleton<ModerationConfigService>();
        builder.Services.AddSingleton<ModerationRulesService>();
        builder.Services.AddSingleton<InfractionService>();
        builder.Services.AddSingleton<ModmailWebSocketService>();
        builder.Services.AddSingleton<ModmailService>();
        builder.Services.AddSingleton<TagService>();
        builder.Services.Configure<SampleBotOptions>(builder.Configuration.GetSection(SampleBotOptions.SectionName));
        builder.Services.AddSingleton<AutoModBot>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AutoModBot>());
        customize?.Invoke(builder);

        var app = builder.Build();
        if (app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<SampleBotOptions>>().Value.Seed)
        {
            SampleData.Seed(app.Services.GetRequiredService<SampleDatabase>(), app.Services.GetRequiredService<TimeProvider>());
        }

        // The dashboard page: plain files, no build step. The WebSocket server stays on its own port.
        var files = new PhysicalFileProvider(WebRoot);
        app.UseDefaultFiles(new DefaultFilesOptions { FileProvider = files });
        app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = files,
            OnPrepareResponse = c => c.Context.Response.Headers.CacheControl = "no-cache",
        });

        app.MapModerationApi();
        app.MapModmailApi();
        app.MapTagsApi();
        if (app.Environment.IsDevelopment())
        {
            app.MapDevApi(); // the development token and the simulated member events: never in a deployment
        }
        if (!app.Configuration.GetValue("SampleHost:Quiet", false))
        {
            app.Lifetime.ApplicationStarted.Register(() => PrintBanner(app, generated ? secret : null));
        }

        return app;
    }

    private static void PrintBanner(WebApplication app, string? generatedSecret)
    {
        var server = app.Services.GetRequiredService<WebSocketManager>();
        var options = app.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LiveUpdatesOptions>>().Value;
        var port = options.Port;
        var secret = options.AuthSecret!;
        var generated = string.Equals(secret, generatedSecret, StringComparison.Ordinal);
        var api = app.Urls.FirstOrDefault() ?? "http://127.0.0.1:3001";
        if (!app.Environment.IsDevelopment())
        {
            // A deployment prints no token and serves none: dashboards mint their own.
            Console.WriteLine($"LiveUpdates sample host ({app.Environment.EnvironmentName}): API {api}, WebSocket port {port}. No development token or /dev routes outside Development.");
            return;
        }

        var token = DevelopmentTokens.Create(secret, DevUserId, DevGuildIds, TimeSpan.FromHours(24));
        Console.WriteLine($$"""

            ── LiveUpdates sample host ─────────────────────────────────────────────
            Dashboard page   : {{api}}/   (guild B: {{api}}/?guild={{OtherDevGuildId}})
            WebSocket server : ws://localhost:{{port}}  ({{server.Prefix}})
            HTTP API         : {{api}}/api/guilds/{guildId}/{moderation|modmail|tags}/…
            AUTH_SECRET      : {{(generated ? secret + "   (generated: set AUTH_SECRET to keep one)" : "(from your environment)")}}
            Dev token        : {{token}}
                               (user {{DevUserId}}, guilds {{DevGuildId}} and {{OtherDevGuildId}}, valid 24 h;
                                the page gets its own from {{api}}/dev/token, a sample-only, loopback-only route)

            1) Open the dashboard page in two browser windows and change something in one.
            2) Or, in any browser tab's console:
               const ws = new WebSocket("ws://localhost:{{port}}");
               ws.onmessage = e => console.log(JSON.parse(e.data));
               ws.onopen = () => {
                 ws.send(JSON.stringify({ type: "auth", token: "{{token}}" }));
                 ws.send(JSON.stringify({ type: "subscribe", guildId: "{{DevGuildId}}" }));
               };
               and in a terminal:
               curl -X PUT {{api}}/api/guilds/{{DevGuildId}}/moderation/config \
                 -H 'Content-Type: application/json' -d '{"automod":true,"_dashboardUserId":"{{DevUserId}}"}'
               The console logs the moderation:config_updated event.
            3) Be the bot removing the dev user from guild A (the page shows FORBIDDEN at once), then signing them out:
               curl -X POST {{api}}/dev/members/{{DevGuildId}}/{{DevUserId}}/remove     (…/restore undoes it)
               curl -X POST {{api}}/dev/users/{{DevUserId}}/sign-out                    (close 4001: the page stops, no reconnect)
            ────────────────────────────────────────────────────────────────────────

            """);
    }
}
