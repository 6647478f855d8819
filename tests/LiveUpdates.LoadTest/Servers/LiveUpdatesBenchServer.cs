using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The library under test at its default settings, except what a generator on one address needs: every connection
/// comes from 127.0.0.1, so the per-address limit (and, above its default, the total) is raised to the run's
/// connection count. The generator pings like the dashboard's client, so the idle check stays on; each client
/// subscribes to at most three guilds, within the default subscription-change rate. Every change is in
/// <see cref="Settings"/>, which the run prints. With <paramref name="aspNetCore"/> the same server runs on the ASP.NET
/// Core transport (target <c>liveupdates-aspnetcore</c>): a Kestrel app on the port, configured as the Kestrel peer is,
/// with <c>AddLiveUpdates(…).UseAspNetCore()</c> and <c>MapLiveUpdates("/")</c>, the same options.
/// </summary>
internal sealed class LiveUpdatesBenchServer(int connections, bool aspNetCore = false) : IBenchServer
{
    private readonly MeterListener _listener = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _counters = new(StringComparer.Ordinal);
    private WebSocketManager? _manager;
    private WebApplication? _app;

    public string Name => aspNetCore ? "liveupdates-aspnetcore" : "liveupdates";

    public int ConnectionCount => _manager?.ConnectionCount ?? 0;

    public IReadOnlyDictionary<string, long> Counters => _counters;

    public IReadOnlyList<BenchSetting> Settings { get; private set; } = [];

    public async Task StartAsync(int port, string secret)
    {
        var defaults = new LiveUpdatesOptions();
        var options = new LiveUpdatesOptions { Host = "127.0.0.1", Port = port, ConnectionTokenKey = secret };
        var settings = new List<BenchSetting>
        {
            new(nameof(options.Host), options.Host, defaults.Host, "listen on loopback only (a shared machine); no limit involved"),
        };
        if (connections > defaults.MaxConnectionsPerAddress)
        {
            options.MaxConnectionsPerAddress = connections;
            settings.Add(new(nameof(options.MaxConnectionsPerAddress), Inv(connections), Inv(defaults.MaxConnectionsPerAddress), "every generator client comes from 127.0.0.1"));
        }

        if (connections > defaults.MaxConnectionsPerUser)
        {
            options.MaxConnectionsPerUser = connections;
            settings.Add(new(nameof(options.MaxConnectionsPerUser), Inv(connections), Inv(defaults.MaxConnectionsPerUser), "the generator's clients share 100 user ids"));
        }

        if (connections > defaults.MaxConnections)
        {
            options.MaxConnections = connections;
            settings.Add(new(nameof(options.MaxConnections), Inv(connections), Inv(defaults.MaxConnections), "the run holds more clients than the default total"));
        }

        Settings = settings;

        // Only the rare instruments are listened to, so the per-delivery counter stays on its no-listener fast path.
        // The capacity scenario (LOADTEST_LAST_WRITE=1) also listens to the per-delivery latency, only to note when the
        // server handed its last frame to the transport (LastWrite): the server's own part of a broadcast, apart from
        // the generator's receiving.
        var lastWrite = Environment.GetEnvironmentVariable("LOADTEST_LAST_WRITE") == "1";
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "LiveUpdates" && (instrument.Name is "liveupdates.events.dropped" or "liveupdates.disconnects" or "liveupdates.events.coalesced" || (lastWrite && instrument.Name == "liveupdates.delivery.latency")))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => NoteWrite());
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += ":" + tag.Value;
            }

            _counters.AddOrUpdate(key, value, (_, v) => v + value);
        });
        _listener.Start();

        // The Redis scenario (RedisRunner) starts this server with LOADTEST_REDIS=<configuration>|<key prefix>: the
        // Redis broker at its defaults instead of the in-memory one.
        LiveUpdates.Brokers.IBroker? broker = null;
        ILoggerFactory? loggerFactory = null;
        if (Environment.GetEnvironmentVariable("LOADTEST_REDIS") is { Length: > 0 } redis)
        {
            var parts = redis.Split('|');
            loggerFactory = FileWarningLogger.FromEnvironment(port); // LOADTEST_LOG_DIR: the broker's warnings to a file
            broker = new LiveUpdates.Redis.RedisBroker(new LiveUpdates.Redis.RedisBrokerOptions { Configuration = parts[0], KeyPrefix = parts[1] }, loggerFactory);
            settings.Add(new("broker", "Redis", "in-memory", "the two-instance scenario: every instance shares the guild streams through Redis"));
        }

        if (aspNetCore)
        {
            if (broker is not null)
            {
                throw new NotSupportedException("The Redis scenario runs on the HttpListener transport only.");
            }

            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k =>
            {
                k.AddServerHeader = false;
                k.Listen(IPAddress.Loopback, port);
            });
            builder.Services.AddLiveUpdates(o =>
            {
                o.ConnectionTokenKey = options.ConnectionTokenKey;
                o.MaxConnectionsPerAddress = options.MaxConnectionsPerAddress;
                o.MaxConnectionsPerUser = options.MaxConnectionsPerUser;
                o.MaxConnections = options.MaxConnections;
            }).UseAspNetCore();
            settings[0] = new("Kestrel endpoint", $"127.0.0.1:{port}, MapLiveUpdates(\"/\")", "—", "listen on loopback only (a shared machine); no limit involved");
            var app = builder.Build();
            app.MapLiveUpdates("/");
            await app.StartAsync();
            _app = app;
            _manager = app.Services.GetRequiredService<WebSocketManager>();
            return;
        }

        _manager = new WebSocketManager(options, broker: broker, loggerFactory: loggerFactory);
        await _manager.StartAsync();
    }

    private long _lastWrite;

    /// <summary>Gets the Stopwatch timestamp of the last event frame handed to the transport (capacity scenario only, see <see cref="StartAsync"/>).</summary>
    public long LastWrite => Volatile.Read(ref _lastWrite);

    private void NoteWrite()
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        var seen = Volatile.Read(ref _lastWrite);
        while (now > seen)
        {
            var found = Interlocked.CompareExchange(ref _lastWrite, now, seen);
            if (found == seen)
            {
                return;
            }

            seen = found;
        }
    }

    private static string Inv(int value) => value.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    public void Broadcast(string guildId, string eventName, object data) => _manager!.Broadcast(guildId, eventName, data);

    /// <summary>The awaitable broadcast: completes when the broker has numbered the event (for Redis: the script is done).</summary>
    public Task BroadcastConfirmedAsync(string guildId, string eventName, object data) => _manager!.BroadcastAsync(guildId, eventName, data);

    /// <summary>The Redis configuration and the guild's channel when the server runs on Redis (the per-hop run listens to it), else null.</summary>
    public static (string Configuration, string Channel)? RedisChannelOf(string guildId) =>
        Environment.GetEnvironmentVariable("LOADTEST_REDIS") is { Length: > 0 } redis && redis.Split('|') is [var configuration, var prefix]
            ? (configuration, $"{prefix}:{{{guildId}}}:ch")
            : null;

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        else if (_manager is not null)
        {
            await _manager.DisposeAsync();
        }

        _listener.Dispose();
    }
}
