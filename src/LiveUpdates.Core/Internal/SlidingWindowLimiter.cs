namespace LiveUpdates.Internal;

/// <summary>
/// At most <c>limit</c> events in any window of the given length: a ring of the last <c>limit</c> event times. Used
/// per connection for subscribe/unsubscribe and auth messages. Not thread-safe: its owner guards it.
/// </summary>
internal sealed class SlidingWindowLimiter(int limit, TimeSpan window, TimeProvider time)
{
    private long[]? _times; // allocated on first use: most connections never need it
    private int _next;

    /// <summary>Counts an event at <paramref name="now"/>, or returns <see langword="false"/> (not counted) when the window is full.</summary>
    public bool TryAcquire(long now)
    {
        _times ??= new long[limit];
        var oldest = _times[_next];
        if (oldest != 0 && time.GetElapsedTime(oldest, now) < window)
        {
            return false;
        }

        _times[_next] = now;
        _next = (_next + 1) % limit;
        return true;
    }
}
