namespace LiveUpdates.Internal;

/// <summary>
/// At most <c>limit</c> events in any window of the given length: a ring of the last <c>limit</c> event times. Used
/// per connection for subscribe/unsubscribe and auth messages. Not thread-safe: its owner guards it. A mutable struct,
/// kept inline in its owner's object (no object of its own per connection): hold it in a field that is not readonly and
/// never copy it.
/// </summary>
/// <remarks>
/// Kept small for idle connections: a lone recent event is held inline (a connection that sent one <c>auth</c> keeps
/// no ring), the ring is made by the second event within a window, and <see cref="Trim"/> lets it go once nothing in
/// it is recent. The answers are those of a ring made at the first event and kept for ever.
/// </remarks>
internal struct SlidingWindowLimiter(int limit, TimeSpan window, TimeProvider time)
{
    private readonly int _limit = limit;
    private readonly TimeSpan _window = window;
    private readonly TimeProvider _time = time;
    private long[]? _times; // the ring, made by the second event within a window
    private long _lone; // without a ring: the one event that may still be recent (0: none)
    private int _next;

    /// <summary>Gets a value indicating whether the window's array is held (for tests: an idle connection holds none).</summary>
    internal readonly bool HoldsWindow => _times is not null;

    /// <summary>Counts an event at <paramref name="now"/>, or returns <see langword="false"/> (not counted) when the window is full.</summary>
    public bool TryAcquire(long now)
    {
        if (_times is null)
        {
            if (_lone == 0 || _time.GetElapsedTime(_lone, now) >= _window)
            {
                _lone = now;
                return true;
            }

            if (_limit == 1)
            {
                return false;
            }

            // A second event within the window: from here on, the ring (the lone event first, as if it had been there).
            _times = new long[_limit];
            _times[0] = _lone;
            _times[1] = now;
            _next = 2 % _limit;
            _lone = 0;
            return true;
        }

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
    /// Lets the ring go once every event in it is older than the window (it then limits nothing): an idle connection
    /// keeps no ring. Made again by the next two events within a window, with the same answers.
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
