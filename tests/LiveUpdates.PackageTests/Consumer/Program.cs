// A bot as docs/getting-started.md shows it, built only from the packages in a local feed (no project references): it adds
// LiveUpdates, its MongoDB part and its health check with the builder from configuration, starts the hosted services, and checks that a
// real WebSocket client authenticated with an HS256 token and subscribed to a guild receives one event broadcast
// through the facade. Besides the packages it references only the DI container and configuration implementations
// (not Microsoft.Extensions.Hosting, which would bring most Microsoft.Extensions packages and hide a missing
// dependency). Exit code 0 and "consumer: ok" on success; anything else is a failure the package test reports.
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LiveUpdates;
using LiveUpdates.Mongo;
using LiveUpdates.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

const string GuildId = "123456789012345678";
const string UserId = "100000000000000001";
var port = int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture);
var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
{
    ["LiveUpdates:Host"] = "127.0.0.1",
    ["LiveUpdates:Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
    ["LiveUpdates:ConnectionTokenKey"] = secret,
    ["LiveUpdates:PermissionCategories:moderation:0"] = "moderation.manage_config",
    ["LiveUpdates:Mongo:ConnectionString"] = "mongodb://127.0.0.1:1/bot", // never queried: the user owns the guild
}).Build();

var services = new ServiceCollection();
services.AddLogging();
services.AddLiveUpdates(configuration.GetSection(LiveUpdatesOptions.SectionName))
    .AddMongoPermissionStore(configuration.GetSection(MongoPermissionStoreOptions.SectionName))
    .AddHealthCheck();
services.AddSingleton<IGuildMemberSource, OwnerMemberSource>();
await using var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });

// What Host.StartAsync does: validate the options, then start the hosted services.
provider.GetRequiredService<IStartupValidator>().Validate();
var hosted = provider.GetServices<IHostedService>().ToList();
foreach (var service in hosted)
{
    await service.StartAsync(timeout.Token);
}

var manager = provider.GetRequiredService<WebSocketManager>();
Check(manager.IsRunning, "the server runs after start");
var health = await provider.GetRequiredService<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckService>().CheckHealthAsync(timeout.Token);
Check(health.Entries.ContainsKey("liveupdates") && health.Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, $"the health check is registered and healthy ({health.Status})");
Check(provider.GetRequiredService<IBroadcaster>() == manager, "IBroadcaster is the manager");
Check(provider.GetRequiredService<IDashboardPermissionStore>() is not null, "the MongoDB store resolves (MongoDB.Driver is there)");
Check(provider.GetRequiredService<IOptions<MongoPermissionStoreOptions>>().Value.CollectionName == "dashboardpermissions", "the store's options bind");

using var socket = new ClientWebSocket();
await socket.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/"), timeout.Token);
await Expect("connected");
await Send(new { type = "auth", token = Hs256(secret, UserId, DateTimeOffset.UtcNow.AddMinutes(5)) });
var authenticated = await Expect("authenticated");
Check(authenticated.GetProperty("data").GetProperty("userId").GetString() == UserId, "authenticated as the token's user");
await Send(new { type = "subscribe", guildId = GuildId });
await Expect("subscribed");

Broadcast.ToGuild(GuildId, LiveEvents.Moderation.ConfigUpdated, new { automod = true });
var envelope = await Expect(LiveEvents.Moderation.ConfigUpdated);
Check(envelope.GetProperty("guildId").GetString() == GuildId, "the event names its guild");
Check(envelope.GetProperty("data").GetProperty("automod").GetBoolean(), "the event carries its data");

foreach (var service in hosted)
{
    await service.StopAsync(timeout.Token);
}

Check(!manager.IsRunning, "the server stops with the hosted service");

// Bad configuration fails at start-up with a message naming the setting.
var bad = new ServiceCollection();
bad.AddLiveUpdates(o => o.ConnectionTokenKey = secret).AddMongoPermissionStore(o => o.ConnectionString = null);
await using (var badProvider = bad.BuildServiceProvider())
{
    try
    {
        badProvider.GetRequiredService<IStartupValidator>().Validate();
        Check(false, "a missing MongoDB connection string fails start-up");
    }
    catch (OptionsValidationException ex)
    {
        Check(ex.Message.Contains("LiveUpdates:Mongo:ConnectionString", StringComparison.Ordinal), $"the message names the setting: {ex.Message}");
    }
}

Console.WriteLine("consumer: ok");
return 0;

async Task Send(object message) =>
    await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, timeout.Token);

async Task<JsonElement> Expect(string name)
{
    var buffer = new byte[64 * 1024];
    while (true)
    {
        using var frame = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, timeout.Token);
            Check(result.MessageType != WebSocketMessageType.Close, $"the socket stays open while waiting for '{name}' ({socket.CloseStatus} {socket.CloseStatusDescription})");
            frame.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        var message = JsonDocument.Parse(frame.ToArray()).RootElement.Clone();
        var eventName = message.GetProperty("event").GetString();
        Check(eventName != "error" || name == "error", $"no error while waiting for '{name}': {message}");
        if (eventName == name)
        {
            return message;
        }
    }
}

static string Hs256(string secret, string userId, DateTimeOffset expires)
{
    static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    // A connection token (docs/security.md): typ liveupdates+jwt, aud liveupdates.
    var header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "liveupdates+jwt" }));
    var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new { sub = userId, aud = "liveupdates", exp = expires.ToUnixTimeSeconds() }));
    var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes($"{header}.{payload}")));
    return $"{header}.{payload}.{signature}";
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException($"consumer check failed: {what}");
    }
}

/// <summary>The bot's Discord cache in miniature: the one user owns the one guild.</summary>
internal sealed class OwnerMemberSource : IGuildMemberSource
{
    public ValueTask<IReadOnlyList<string>> GetGuildIdsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>(["123456789012345678"]);

    public ValueTask<GuildMember?> GetMemberAsync(string guildId, AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<GuildMember?>(new GuildMember([], IsOwner: true));
}
