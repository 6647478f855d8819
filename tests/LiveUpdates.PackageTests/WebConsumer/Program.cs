// A bot whose dashboard API is an ASP.NET Core app, as the LiveUpdates.AspNetCore README shows it, built only from the
// packages in a local feed: AddLiveUpdates().UseAspNetCore(), app.MapLiveUpdates("/live") on Kestrel over TLS (a
// self-signed certificate made here, trusted by the client alone), a real ClientWebSocket over wss:// that
// authenticates, subscribes and receives one event, then the app's stop closes it with 1001. Exit code 0 and
// "web consumer: ok" on success; anything else is a failure the package test reports.
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using LiveUpdates;

const string GuildId = "123456789012345678";
const string UserId = "100000000000000001";
const string Origin = "https://dashboard.example.com";
var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
using var certificate = CreateLoopbackCertificate();

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen => listen.UseHttps(certificate)));
builder.Services.AddLiveUpdates(o =>
{
    o.ConnectionTokenKey = secret;
    o.AllowedOrigins.Add(Origin);
}).UseAspNetCore();
await using var app = builder.Build();
app.MapLiveUpdates("/live");
await app.StartAsync(timeout.Token);

// Fully qualified: the Web SDK's implicit usings bring Microsoft.AspNetCore.Http.WebSocketManager too.
var manager = app.Services.GetRequiredService<LiveUpdates.WebSocketManager>();
Check(manager.IsRunning && manager.Prefix.Length == 0, "the server runs, and its HttpListener does not");
var uri = new UriBuilder(app.Urls.Single()) { Scheme = "wss", Path = "/live" }.Uri;

using var socket = new ClientWebSocket();
socket.Options.RemoteCertificateValidationCallback = (_, presented, _, _) => presented?.GetCertHashString() == certificate.GetCertHashString();
socket.Options.SetRequestHeader("Origin", Origin);
await socket.ConnectAsync(uri, timeout.Token);
await Expect("connected");
await Send(new { type = "auth", token = Hs256(secret, UserId, GuildId, DateTimeOffset.UtcNow.AddMinutes(5)) });
await Expect("authenticated");
await Send(new { type = "subscribe", guildId = GuildId });
await Expect("subscribed");

app.Services.GetRequiredService<IBroadcaster>().Broadcast(GuildId, LiveEvents.Moderation.ConfigUpdated, new { automod = true });
var envelope = await Expect(LiveEvents.Moderation.ConfigUpdated);
Check(envelope.GetProperty("data").GetProperty("automod").GetBoolean(), "the event carries its data");

var stop = app.StopAsync(timeout.Token);
var buffer = new byte[64 * 1024];
var last = await socket.ReceiveAsync(buffer, timeout.Token);
Check(last.MessageType == WebSocketMessageType.Close && socket.CloseStatus == WebSocketCloseStatus.EndpointUnavailable, $"the app's stop closes the socket with 1001 ({socket.CloseStatus})");
await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
await stop;
Check(!manager.IsRunning, "the server stops with the app");

Console.WriteLine("web consumer: ok");
return 0;

async Task Send(object message) =>
    await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message), WebSocketMessageType.Text, true, timeout.Token);

async Task<JsonElement> Expect(string name)
{
    var receive = new byte[64 * 1024];
    using var frame = new MemoryStream();
    WebSocketReceiveResult result;
    do
    {
        result = await socket.ReceiveAsync(receive, timeout.Token);
        Check(result.MessageType != WebSocketMessageType.Close, $"the socket stays open while waiting for '{name}' ({socket.CloseStatus} {socket.CloseStatusDescription})");
        frame.Write(receive, 0, result.Count);
    }
    while (!result.EndOfMessage);

    var message = JsonDocument.Parse(frame.ToArray()).RootElement.Clone();
    Check(message.GetProperty("event").GetString() == name, $"expected '{name}', got {message}");
    return message;
}

static string Hs256(string secret, string userId, string guildId, DateTimeOffset expires)
{
    static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    // A connection token (docs/security.md): typ liveupdates+jwt, aud liveupdates.
    var header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "liveupdates+jwt" }));
    var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new { sub = userId, aud = "liveupdates", guilds = new[] { guildId }, exp = expires.ToUnixTimeSeconds() }));
    var signature = B64(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes($"{header}.{payload}")));
    return $"{header}.{payload}.{signature}";
}

static X509Certificate2 CreateLoopbackCertificate()
{
    using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
    var names = new SubjectAlternativeNameBuilder();
    names.AddDnsName("localhost");
    names.AddIpAddress(IPAddress.Loopback);
    request.CertificateExtensions.Add(names.Build());
    using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), password: null);
}

static void Check(bool condition, string what)
{
    if (!condition)
    {
        throw new InvalidOperationException($"web consumer check failed: {what}");
    }
}
