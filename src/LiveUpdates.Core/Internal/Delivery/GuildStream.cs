namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// One guild's event stream: the last sequence number given out and a bounded history (by count and by age)
/// for recovery. Touched only by the dispatcher loop, so it needs no lock.
/// </summary>
internal sealed class GuildStream
{
    private readonly int _capacity;
    private OutboundFrame[] _frames = [];
    private long[] _times = [];
    private int _head;
    private int _count;

    public GuildStream(int capacity) => _capacity = capacity;

    /// <summary>Gets the sequence number of the last event broadcast to the guild (0 before the first).</summary>
    public long LastSeq { get; private set; }

    public int Count => _count;

    public long NextSeq() => ++LastSeq;

    public void Append(OutboundFrame frame, long timestamp)
    {
        if (_capacity == 0)
        {
            return;
        }

        if (_count == _frames.Length && _frames.Length < _capacity)
        {
            var size = Math.Min(Math.Max(_frames.Length * 2, 4), _capacity);
            var frames = new OutboundFrame[size];
            var times = new long[size];
            for (var i = 0; i < _count; i++)
            {
                frames[i] = _frames[(_head + i) % _frames.Length];
                times[i] = _times[(_head + i) % _frames.Length];
            }

            _frames = frames;
            _times = times;
            _head = 0;
        }

        if (_count == _frames.Length)
        {
            // Full: the oldest gives way.
            _frames[_head] = frame;
            _times[_head] = timestamp;
            _head = (_head + 1) % _frames.Length;
            return;
        }

        var tail = (_head + _count) % _frames.Length;
        _frames[tail] = frame;
        _times[tail] = timestamp;
        _count++;
    }

    /// <summary>Drops frames older than <paramref name="maxAge"/>.</summary>
    public void Prune(long now, TimeSpan maxAge, TimeProvider time)
    {
        while (_count > 0 && time.GetElapsedTime(_times[_head], now) > maxAge)
        {
            _frames[_head] = null!;
            _head = (_head + 1) % _frames.Length;
            _count--;
        }
    }

    /// <summary>
    /// Collects every frame after <paramref name="lastSeq"/>, or returns <see langword="false"/> when some of
    /// them are no longer in the history.
    /// </summary>
    public bool TryGetSince(long lastSeq, List<OutboundFrame> into)
    {
        if (lastSeq >= LastSeq)
        {
            return lastSeq == LastSeq;
        }

        if (_count == 0 || _frames[_head].Seq > lastSeq + 1)
        {
            return false;
        }

        for (var i = 0; i < _count; i++)
        {
            var frame = _frames[(_head + i) % _frames.Length];
            if (frame.Seq > lastSeq)
            {
                into.Add(frame);
            }
        }

        return true;
    }
}
