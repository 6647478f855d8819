using System.Collections.Concurrent;

namespace LiveUpdates.Internal;

/// <summary>
/// One <see cref="LogThrottle"/> per kind of event (e.g. per refusal rule), so that a flood of one kind cannot hide
/// the first line of another. Keys are the code's own constants, never values a client chose, so the set stays small.
/// Thread-safe.
/// </summary>
internal sealed class LogThrottles(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, LogThrottle> _byKey = new(StringComparer.Ordinal);

    /// <summary>Counts one occurrence of <paramref name="key"/>; returns whether to log it now, with <paramref name="suppressed"/> the occurrences of that key not logged since its last line.</summary>
    public bool Count(string key, out long suppressed)
    {
        if (_byKey.GetOrAdd(key, static (_, t) => new LogThrottle(t), time).Count(out var count))
        {
            suppressed = count - 1;
            return true;
        }

        suppressed = 0;
        return false;
    }
}
