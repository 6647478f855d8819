using System.Diagnostics;
using System.Text.Json;

namespace LiveUpdates.LoadTest.Attacks;

/// <summary>
/// The server side of <c>attack</c>, in its own process: a <see cref="WebSocketManager"/> with the default options
/// (only host, port and secret set), driven over stdin like <see cref="Servers.ServerProcess"/>:
/// <c>bcast GUILD COUNT PAD</c> broadcasts COUNT events as fast as it can, each carrying its send time
/// (Stopwatch ticks, the monotonic clock that processes on one machine share); <c>quit</c> stops.
/// </summary>
internal static class AttackServer
{
    public const string EventName = "bench:tick";

    public static async Task<int> RunAsync(int port, string secret)
    {
        var options = new LiveUpdatesOptions { Host = "127.0.0.1", Port = port, ConnectionTokenKey = secret };
        await using var manager = new WebSocketManager(options);
        await manager.StartAsync();
        Reply(new { ready = true, pid = Environment.ProcessId });
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            switch (parts[0])
            {
                case "bcast":
                    var count = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
                    var pad = new string('x', int.Parse(parts[3], System.Globalization.CultureInfo.InvariantCulture));
                    var started = Stopwatch.GetTimestamp();
                    for (var i = 0; i < count; i++)
                    {
                        manager.Broadcast(parts[1], EventName, new { t = Stopwatch.GetTimestamp(), i, pad });
                    }

                    Reply(new { count, ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds });
                    break;
                case "stats":
                    Reply(new { connections = manager.ConnectionCount, cpuMs = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds, threads = ThreadPool.ThreadCount });
                    break;
                case "quit":
                    Reply(new { bye = true });
                    return 0;
                default:
                    Reply(new { error = $"unknown command '{parts[0]}'" });
                    break;
            }
        }

        return 0;
    }

    private static void Reply(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonSerializerOptions.Web));
}
