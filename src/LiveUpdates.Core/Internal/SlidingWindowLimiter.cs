namespace LiveUpdates.Internal;

/// <summary>
/// At most <c>limit</c> events in any window of the given length: a ring of the last <c>limit</c> event times. Used
/// per connection for subscribe/unsubscribe and auth messages. Not thread-safe: its owner guards it. A mutable struct,
/// kept inline in its owner's object (no object of its own per connection): hold it in a field that is not readonly and
/// never copy it.
/// </summary>
internal struct SlidingWindowLimiter(int limit, TimeSpan window, TimeProvider time)
{
    private readonly int _limit = limit;
    private readonly TimeSpan _window = window;
    private readonly TimeProvider _time = time;
    private long[]? _times; // allocated on first use: most connections never need it
    private int _next;

    /// <summary>Gets a value indicating whether the window's array is held (for tests: an idle connection holds none).</summary>
    internal readonly bool HoldsWindow => _times is not null;

    /// <summary>Counts an event at <paramref name="now"/>, or returns <see langword="false"/> (not counted) when the window is full.</summary>
    public bool TryAcquire(long now)
    {
        _times ??= new long[_limit];
        var oldest = _times[_next];
        if (oldest != 0 && _time.GetElapsedTime(oldest, now) < _window)
        {
            return false;
        }

        _times[_next] = now;
        _next = (_next + 1) % _limit;
        return true;
    }

    /// <summary>
    /// Lets the window go once every event in it is older than the window (it then limits nothing): an idle
    /// connection keeps no window. Allocated again by the next event, with the same answers.
    /// </summary>
    public void Trim(long now)
    {
        if (_times is not null && _time.GetElapsedTime(_times[(_next + _limit - 1) % _limit], now) >= _window)
        {
            _times = null;
            _next = 0;
        }
    }
}
