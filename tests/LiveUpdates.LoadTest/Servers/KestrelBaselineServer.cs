using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The baseline: what a competent .NET developer would write with ASP.NET Core instead of LiveUpdates. Kestrel
/// WebSockets, the same wire protocol (connected → auth → authenticated → subscribe → subscribed; the event
/// envelope with seq and epoch), HS256 tokens checked with Microsoft.IdentityModel, guild groups as
/// copy-on-write arrays, each broadcast serialized once and offered to every member's bounded
/// <see cref="Channel{T}"/> on the caller's thread (as SignalR's DefaultHubLifetimeManager does), one writer loop
/// per connection, and a member whose channel is full is aborted (a slow consumer).
/// </summary>
internal sealed class KestrelBaselineServer : IBenchServer
{
    internal const int SendQueueCapacity = 1024; // the same bound as LiveUpdates' SendQueueCapacity default

    private static readonly JsonSerializerOptions s_json = new(JsonSerializerDefaults.Web);
    private readonly ConcurrentDictionary<string, Group> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<BaselineConnection, byte> _connections = new();
    private readonly string _epoch = Convert.ToBase64String(RandomNumberGenerator.GetBytes(9));
    private readonly JsonWebTokenHandler _tokens = new();
    private TokenValidationParameters _validation = null!;
    private WebApplication? _app;
    private long _slowConsumers;

    public string Name => "kestrel";

    public int ConnectionCount => _connections.Count;

    public IReadOnlyDictionary<string, long> Counters => new Dictionary<string, long> { ["slow_consumer_aborts"] = Interlocked.Read(ref _slowConsumers) };

    public IReadOnlyList<BenchSetting> Settings { get; } = [];

    public async Task StartAsync(int port, string secret)
    {
        _validation = new TokenValidationParameters
        {
            IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)),
            ValidAlgorithms = [SecurityAlgorithms.HmacSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            ClockSkew = TimeSpan.FromSeconds(30),
        };

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxConcurrentConnections = null;
            k.Limits.MaxConcurrentUpgradedConnections = null;
            k.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        app.UseWebSockets(new WebSocketOptions { KeepAliveInterval = TimeSpan.FromSeconds(15) });
        app.Run(HandleAsync);
        await app.StartAsync();
        _app = app;
    }

    public void Broadcast(string guildId, string eventName, object data)
    {
        var group = _groups.GetOrAdd(guildId, static _ => new Group());

        // The lock keeps seq and queue order the same for every member when plugins broadcast from several threads.
        lock (group)
        {
            var seq = ++group.Seq;
            var bytes = JsonSerializer.SerializeToUtf8Bytes(
                new EventEnvelope(eventName, guildId, data, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), seq, _epoch), s_json);
            foreach (var member in group.Members)
            {
                member.TryEnqueue(bytes);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections.Keys)
        {
            connection.Abort();
        }

        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var connection = new BaselineConnection(this, socket);
        _connections.TryAdd(connection, 0);
        try
        {
            await connection.RunAsync();
        }
        finally
        {
            _connections.TryRemove(connection, out _);
            foreach (var guildId in connection.Guilds)
            {
                Leave(guildId, connection);
            }
        }
    }

    private long Join(string guildId, BaselineConnection connection)
    {
        var group = _groups.GetOrAdd(guildId, static _ => new Group());
        lock (group)
        {
            // `subscribed` is queued under the group's lock, so no event can overtake it.
            connection.TryEnqueue(JsonSerializer.SerializeToUtf8Bytes(
                new { @event = "subscribed", guildId, data = new { guildId, epoch = _epoch, seq = group.Seq } }, s_json));
            group.Members = [.. group.Members, connection];
            return group.Seq;
        }
    }

    private void Leave(string guildId, BaselineConnection connection)
    {
        if (_groups.TryGetValue(guildId, out var group))
        {
            lock (group)
            {
                group.Members = [.. group.Members.Where(m => m != connection)];
            }
        }
    }

    private async Task<(string UserId, string[] Guilds)?> ValidateAsync(string token)
    {
        var result = await _tokens.ValidateTokenAsync(token, _validation);
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt || jwt.Subject is not { Length: > 0 } userId)
        {
            return null;
        }

        return (userId, jwt.TryGetPayloadValue<string[]>("guilds", out var guilds) ? guilds : []);
    }

    private sealed record EventEnvelope(string Event, string GuildId, object Data, long Timestamp, long Seq, string Epoch);

    private sealed class Group
    {
        public BaselineConnection[] Members = [];
        public long Seq;
    }

    private sealed class BaselineConnection(KestrelBaselineServer server, WebSocket socket)
    {
        private readonly Channel<byte[]> _outbox = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(SendQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite reports "full" and the connection is dropped
        });

        private (string UserId, string[] Guilds)? _user;

        public List<string> Guilds { get; } = [];

        public bool TryEnqueue(byte[] message)
        {
            if (_outbox.Writer.TryWrite(message))
            {
                return true;
            }

            // Full (a slow consumer: counted once) or already completed (the connection is going away).
            if (_outbox.Writer.TryComplete())
            {
                Interlocked.Increment(ref server._slowConsumers);
                socket.Abort();
            }

            return false;
        }

        public void Abort()
        {
            _outbox.Writer.TryComplete();
            socket.Abort();
        }

        public async Task RunAsync()
        {
            var writer = WriteLoopAsync();
            Send(new { @event = "connected", data = new { message = "Authenticate with { type: 'auth', token: '<session-token>' }" } });
            var buffer = new byte[4096];
            try
            {
                while (socket.State == WebSocketState.Open)
                {
                    var length = 0;
                    ValueWebSocketReceiveResult result;
                    do
                    {
                        if (length == buffer.Length)
                        {
                            if (length >= 32 * 1024)
                            {
                                return; // too large: drop the client
                            }

                            Array.Resize(ref buffer, buffer.Length * 2);
                        }

                        result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                        length += result.Count;
                    }
                    while (!result.EndOfMessage && result.MessageType != WebSocketMessageType.Close);

                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "CLOSED", CancellationToken.None);
                        return;
                    }

                    await HandleAsync(buffer.AsMemory(0, length));
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                // The client went away.
            }
            finally
            {
                _outbox.Writer.TryComplete();
                await writer;
            }
        }

        private async Task HandleAsync(ReadOnlyMemory<byte> frame)
        {
            string? type, token = null, guildId = null;
            try
            {
                using var doc = JsonDocument.Parse(frame);
                var root = doc.RootElement;
                type = root.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                if (root.TryGetProperty("token", out var tok) && tok.ValueKind == JsonValueKind.String)
                {
                    token = tok.GetString();
                }

                if (root.TryGetProperty("guildId", out var g) && g.ValueKind == JsonValueKind.String)
                {
                    guildId = g.GetString();
                }
            }
            catch (JsonException)
            {
                SendError("INVALID_JSON", "Message is not valid JSON.");
                return;
            }

            switch (type)
            {
                case "ping":
                    Send(new { @event = "pong", data = new { } });
                    break;
                case "auth" when token is { Length: > 0 }:
                    _user = await server.ValidateAsync(token);
                    if (_user is { } user)
                    {
                        Send(new { @event = "authenticated", data = new { userId = user.UserId, guilds = user.Guilds } });
                    }
                    else
                    {
                        SendError("TOKEN_INVALID", "The token is invalid.");
                    }

                    break;
                case "subscribe" when guildId is not null:
                    if (_user is not { } u)
                    {
                        SendError("AUTH_REQUIRED", "Send an auth message first.");
                    }
                    else if (!u.Guilds.Contains(guildId, StringComparer.Ordinal))
                    {
                        SendError("FORBIDDEN", "No access to this guild.");
                    }
                    else if (!Guilds.Contains(guildId))
                    {
                        Guilds.Add(guildId);
                        server.Join(guildId, this);
                    }

                    break;
                case "unsubscribe" when guildId is not null:
                    if (Guilds.Remove(guildId))
                    {
                        server.Leave(guildId, this);
                    }

                    Send(new { @event = "unsubscribed", guildId, data = new { guildId } });
                    break;
                default:
                    SendError("INVALID_MESSAGE", "Unknown or malformed message.");
                    break;
            }
        }

        private void SendError(string code, string message) => Send(new { @event = "error", data = new { message, code } });

        private void Send(object message) => TryEnqueue(JsonSerializer.SerializeToUtf8Bytes(message, s_json));

        private async Task WriteLoopAsync()
        {
            var reader = _outbox.Reader;
            try
            {
                while (await reader.WaitToReadAsync())
                {
                    while (reader.TryRead(out var message))
                    {
                        await socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                    }
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException)
            {
                socket.Abort();
            }
        }
    }
}
