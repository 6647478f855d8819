using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

namespace LiveUpdates.LoadTest.Servers;

/// <summary>
/// Which types the server allocates, from the runtime's own sampling (GCAllocationTick: one event per ~100 KB
/// allocated, naming the type that crossed the mark). Opt-in (<c>--alloc-types true</c>), as listening costs a little.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytesByType = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, long> TakeTop(int count)
    {
        var top = _bytesByType.OrderByDescending(p => p.Value).Take(count).ToDictionary(p => p.Key, p => p.Value);
        _bytesByType.Clear();
        return top;
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: allocation ticks
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName is not { } name || !name.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null || e.PayloadNames is null)
        {
            return;
        }

        var type = e.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytesByType.AddOrUpdate(type, amount, (_, v) => v + amount);
    }
}
