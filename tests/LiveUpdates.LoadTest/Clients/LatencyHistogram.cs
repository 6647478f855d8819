using System.Diagnostics;

namespace LiveUpdates.LoadTest.Clients;

/// <summary>
/// A lock-free log-linear histogram of latencies in microseconds: 1 µs buckets below 2 ms, then 1,024 buckets per
/// power of two (under 0.1 % error), so millions of samples cost a fixed few hundred KB and no sorting.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 2048;
    private const int SubBuckets = 1024;
    private readonly long[] _counts = new long[Linear + (40 * SubBuckets)];
    private long _max;
    private long _total;

    public long Count => Interlocked.Read(ref _total);

    public void RecordTicks(long ticks) => Record(Math.Max(0, ticks * 1_000_000 / Stopwatch.Frequency));

    /// <summary>
    /// When set (the per-hop run), the earliest receipt of each event across all clients, by its send time (Stopwatch
    /// ticks): when fan-out reached the first client. Null otherwise, so the hot path pays one null check.
    /// </summary>
    public System.Collections.Concurrent.ConcurrentDictionary<long, long>? FirstReceipts { get; set; }

    /// <summary>Records one receipt of the event sent at <paramref name="sent"/>, received at <paramref name="now"/> (Stopwatch ticks).</summary>
    public void RecordReceipt(long sent, long now)
    {
        RecordTicks(now - sent);
        FirstReceipts?.AddOrUpdate(sent, now, (_, seen) => Math.Min(seen, now));
    }

    public void Record(long us)
    {
        Interlocked.Increment(ref _counts[Index(us)]);
        Interlocked.Increment(ref _total);
        long max;
        while (us > (max = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, us, max) != max)
        {
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        _max = 0;
        _total = 0;
    }

    /// <summary>The value (µs) at quantile <paramref name="q"/> (0–1), or the max for 1.</summary>
    public double Quantile(double q)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        if (q >= 1)
        {
            return Volatile.Read(ref _max);
        }

        var rank = (long)Math.Ceiling(q * total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= Math.Max(rank, 1))
            {
                return Lower(i);
            }
        }

        return Volatile.Read(ref _max);
    }

    private static int Index(long us)
    {
        if (us < Linear)
        {
            return (int)us;
        }

        var exponent = 63 - (int)long.LeadingZeroCount(us); // >= 11
        var sub = (int)((us >> (exponent - 10)) & (SubBuckets - 1));
        return (int)Math.Min(Linear + ((exponent - 11) * SubBuckets) + sub, Linear + (40 * SubBuckets) - 1);
    }

    private static double Lower(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var exponent = ((index - Linear) / SubBuckets) + 11;
        var sub = (index - Linear) % SubBuckets;
        return (1L << exponent) + ((long)sub << (exponent - 10));
    }
}
