namespace LiveUpdates.Internal;

/// <summary>
/// Lets an event that can come in bursts (a dropped broadcast, a failed publish) be logged at once the first time and
/// then at most once a second, with how many occurred since the last line, so that a burst cannot flood the log.
/// Thread-safe.
/// </summary>
internal sealed class LogThrottle(TimeProvider time)
{
    private long _lastLoggedAt;
    private long _sinceLogged;

    /// <summary>Counts one occurrence; returns whether to log it now, with <paramref name="count"/> the occurrences since the last line.</summary>
    public bool Count(out long count)
    {
        Interlocked.Increment(ref _sinceLogged);
        var now = time.GetTimestamp();
        var last = Volatile.Read(ref _lastLoggedAt);
        if ((last == 0 || time.GetElapsedTime(last, now) >= TimeSpan.FromSeconds(1)) && Interlocked.CompareExchange(ref _lastLoggedAt, now, last) == last)
        {
            count = Interlocked.Exchange(ref _sinceLogged, 0);
            return true;
        }

        count = 0;
        return false;
    }
}
