using System.Globalization;

namespace LiveUpdates.LoadTest.Clients;

/// <summary>
/// One process's CPU accounting from /proc, precise enough for one broadcast: the CPU time its threads ran
/// (the sum of /proc/PID/task/*/schedstat, in nanoseconds; /proc/PID/stat counts 10 ms ticks) and its context switches
/// summed over its threads (voluntary: a thread blocked or yielded; involuntary: it was preempted). Linux only; zeros elsewhere.
/// </summary>
internal readonly record struct ProcessCpu(long CpuNs, long Voluntary, long Involuntary)
{
    public static ProcessCpu Read(int pid)
    {
        long cpu = 0, voluntary = 0, involuntary = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    var schedstat = File.ReadAllText(Path.Combine(task, "schedstat"));
                    cpu += long.Parse(schedstat.AsSpan(0, schedstat.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
                    foreach (var line in File.ReadLines(Path.Combine(task, "status")))
                    {
                        if (line.StartsWith("voluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            voluntary += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                        }
                        else if (line.StartsWith("nonvoluntary_ctxt_switches:", StringComparison.Ordinal))
                        {
                            involuntary += long.Parse(line.AsSpan(line.IndexOf(':') + 1).Trim(), CultureInfo.InvariantCulture);
                        }
                    }
                }
                catch (IOException)
                {
                    // the thread ended meanwhile
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return new ProcessCpu(cpu, voluntary, involuntary);
    }

    public static ProcessCpu operator -(ProcessCpu a, ProcessCpu b) => new(a.CpuNs - b.CpuNs, a.Voluntary - b.Voluntary, a.Involuntary - b.Involuntary);
}
