using System.Diagnostics;
using System.Runtime;
using System.Text.Json;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// The server side of a load run, in its own process: starts one server and obeys one-line commands on stdin,
/// answering each with one JSON line on stdout. The broadcasting "plugin" runs here, on the command thread,
/// so every <c>Broadcast()</c> call is timed where it happens.
/// </summary>
internal static class ServerProcess
{
    public const string EventName = "bench:tick";

    public static async Task<int> RunAsync(string impl, int port, string secret, int connections)
    {
        await using IBenchServer server = impl switch
        {
            "liveupdates" => new LiveUpdatesBenchServer(connections),
            "liveupdates-aspnetcore" => new LiveUpdatesBenchServer(connections, aspNetCore: true),
            "kestrel" => new KestrelBaselineServer(),
            "signalr" => new SignalRBenchServer(),
            "httplistener-floor" => new HttpListenerFloorServer(),
            "kestrel-floor" => new KestrelFloorServer(),
            _ => throw new ArgumentException($"unknown server '{impl}'"),
        };
        await server.StartAsync(port, secret);
        using var sampler = Environment.GetEnvironmentVariable("LOADTEST_ALLOC_TYPES") == "1" ? new AllocationSampler() : null;
        Reply(new { ready = true, server = server.Name, pid = Environment.ProcessId, gc = GcMode(), settings = server.Settings });

        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var command = space < 0 ? line : line[..space];
            var argument = space < 0 ? "" : line[(space + 1)..];
            switch (command)
            {
                case "mem":
                    Reply(Memory(server));
                    break;
                case "bcast":
                    Reply(Broadcast(server, JsonSerializer.Deserialize<BroadcastCommand>(argument, JsonSerializerOptions.Web)!));
                    break;
                case "hops":
                    Reply(await HopRun.RunAsync(server, JsonSerializer.Deserialize<BroadcastCommand>(argument, JsonSerializerOptions.Web)!));
                    break;
                case "alloc":
                    // GC counts and total pause time, thread-pool threads and work items: the evidence for where a latency tail comes from.
                    Reply(new { allocated = GC.GetTotalAllocatedBytes(precise: true), gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2), gcPauseMs = GC.GetTotalPauseDuration().TotalMilliseconds, cpuMs = Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds, threads = ThreadPool.ThreadCount, workItems = ThreadPool.CompletedWorkItemCount });
                    break;
                case "alloctypes":
                    Reply(sampler?.TakeTop(12) ?? new Dictionary<string, long>());
                    break;
                case "lastwrite":
                    // When the server handed its last event frame to the transport (Stopwatch ticks; 0 when not noted).
                    Reply(new { lastWrite = server is LiveUpdatesBenchServer bench ? bench.LastWrite : 0 });
                    break;
                case "stats":
                    Reply(new { connections = server.ConnectionCount, counters = server.Counters });
                    break;
                case "quit":
                    Reply(new { bye = true });
                    return 0;
                default:
                    Reply(new { error = $"unknown command '{command}'" });
                    break;
            }
        }

        return 0;
    }

    public static string GcMode() =>
        $"{(GCSettings.IsServerGC ? "server" : "workstation")}, {(GCSettings.LatencyMode == GCLatencyMode.Batch ? "non-concurrent" : "concurrent")}";

    private static void Reply(object value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonSerializerOptions.Web));

    private static object Memory(IBenchServer server)
    {
        // Full, blocking, compacting collections (finalizers in between); the last one is Aggressive, which also
        // gives free GC memory back to the OS, so the RSS reflects live memory rather than what the GC keeps in reserve.
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);

        Thread.Sleep(200);
        var info = GC.GetGCMemoryInfo();
        return new
        {
            rss = ReadStatusKb("VmRSS:") * 1024,
            gcHeap = info.HeapSizeBytes,
            gcCommitted = info.TotalCommittedBytes,
            threads = Process.GetCurrentProcess().Threads.Count,
            connections = server.ConnectionCount,
        };
    }

    private static long ReadStatusKb(string field)
    {
        foreach (var l in File.ReadLines("/proc/self/status"))
        {
            if (l.StartsWith(field, StringComparison.Ordinal))
            {
                return long.Parse(l[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return -1;
    }

    /// <summary>
    /// Broadcasts <c>count</c> events round-robin over <c>guilds</c>, paced at <c>rate</c> per second (0: as fast
    /// as the caller can), timing every call with a Stopwatch; stops early after <c>maxSeconds</c> (0: never) when
    /// the calls themselves take that long (a server whose Broadcast() waits for its sends), and says how many it made. Each event carries its send time (Stopwatch
    /// ticks: the monotonic clock, shared by processes on one machine) so clients can measure latency.
    /// </summary>
    private static object Broadcast(IBenchServer server, BroadcastCommand cmd)
    {
        var durations = new long[cmd.Count];
        var cpu = new long[cmd.Count];
        var pad = new string('x', cmd.PadBytes);
        var interval = cmd.Rate > 0 ? Stopwatch.Frequency / (double)cmd.Rate : 0;
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        // A paced run shared by several instances interleaves their calls (instance i starts i/N of an interval late):
        // together they make one evenly paced stream, not bunches of N calls at the same moment.
        var start = Stopwatch.GetTimestamp() + (long)(cmd.OffsetSeconds * Stopwatch.Frequency);
        long first = 0, last = 0;
        var cap = cmd.MaxSeconds > 0 ? start + (long)(cmd.MaxSeconds * Stopwatch.Frequency) : long.MaxValue;
        var sent = 0;
        for (var i = 0; i < cmd.Count && Stopwatch.GetTimestamp() < cap; i++, sent++)
        {
            if (interval > 0)
            {
                var due = start + (long)(i * interval);
                while (Stopwatch.GetTimestamp() < due - (Stopwatch.Frequency / 3333))
                {
                    Thread.Sleep(1); // paced: the plugin thread sleeps between calls, it does not spin on a core
                }
            }

            var c0 = ThreadCpuNanoseconds();
            var t0 = Stopwatch.GetTimestamp();
            server.Broadcast(cmd.Guilds[i % cmd.Guilds.Length], EventName, new Tick(t0, i, pad));
            var t1 = Stopwatch.GetTimestamp();
            var c1 = ThreadCpuNanoseconds();
            durations[i] = t1 - t0;
            cpu[i] = c1 - c0;
            if (i == 0)
            {
                first = t0;
            }

            last = t1;
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        Array.Resize(ref durations, Math.Max(1, sent));
        Array.Resize(ref cpu, Math.Max(1, sent));
        Array.Sort(durations);
        Array.Sort(cpu);
        double Us(long ticks) => ticks * 1_000_000.0 / Stopwatch.Frequency;
        return new
        {
            count = sent,
            first,
            last,
            seconds = (last - first) / (double)Stopwatch.Frequency,
            callMeanUs = Us((long)durations.Average()),
            callP50Us = Us(durations[durations.Length / 2]),
            callP99Us = Us(durations[Math.Min(durations.Length - 1, (int)(durations.Length * 0.99))]),
            callMaxUs = Us(durations[^1]),
            callCpuP50Us = (cpu[cpu.Length / 2] - s_cpuClockOverhead) / 1000.0,
            callCpuP99Us = (cpu[Math.Min(cpu.Length - 1, (int)(cpu.Length * 0.99))] - s_cpuClockOverhead) / 1000.0,
            callerAllocPerCall = allocated / (double)Math.Max(1, sent),
        };
    }

    /// <summary>The median cost of reading the thread CPU clock around nothing, subtracted from each call's CPU time.</summary>
    private static readonly long s_cpuClockOverhead = CalibrateCpuClock();

    /// <summary>CPU time consumed by the calling thread (CLOCK_THREAD_CPUTIME_ID): unlike wall time, it excludes time the thread was not running.</summary>
    private static long ThreadCpuNanoseconds()
    {
        if (clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts) != 0)
        {
            return 0;
        }

        return (ts.Seconds * 1_000_000_000) + ts.Nanoseconds;
    }

    private static long CalibrateCpuClock()
    {
        var samples = new long[1001];
        for (var i = 0; i < samples.Length; i++)
        {
            var a = ThreadCpuNanoseconds();
            _ = Stopwatch.GetTimestamp();
            _ = Stopwatch.GetTimestamp();
            samples[i] = ThreadCpuNanoseconds() - a;
        }

        Array.Sort(samples);
        return samples[samples.Length / 2];
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = false)]
    private static extern int clock_gettime(int clockId, out TimeSpec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>The event's data: <c>{"t":…,"i":…,"pad":"…"}</c>.</summary>
    internal sealed record Tick(long T, int I, string Pad);

    internal sealed record BroadcastCommand(string[] Guilds, int Count, double Rate, int PadBytes, double MaxSeconds = 0, double OffsetSeconds = 0);
}
