using LiveUpdates.Brokers;

namespace LiveUpdates.Internal.Brokers;

/// <summary>
/// One guild's stream in the in-memory broker: the last sequence number given out and a bounded history (by count
/// and by age). Not thread-safe: the broker guards it with its lock.
/// </summary>
internal sealed class GuildStream
{
    private readonly int _capacity;
    private Publication[] _items = [];
    private long[] _times = [];
    private int _head;
    private int _count;

    /// <param name="capacity">How many publications the history keeps.</param>
    /// <param name="firstSeq">The sequence number before the stream's first publication (see <see cref="InMemoryBroker"/>).</param>
    /// <param name="now">When the stream was created (a <see cref="TimeProvider.GetTimestamp"/> value).</param>
    public GuildStream(int capacity, long firstSeq, long now)
    {
        _capacity = capacity;
        LastSeq = firstSeq;
        LastActivity = now;
    }

    /// <summary>Gets the sequence number of the last publication.</summary>
    public long LastSeq { get; private set; }

    /// <summary>Gets or sets when the stream was last published to or left by its last subscriber.</summary>
    public long LastActivity { get; set; }

    public int Count => _count;

    /// <summary>Gives <paramref name="message"/> the next sequence number and keeps it in the history.</summary>
    public Publication Append(BrokerMessage message, string epoch, long now)
    {
        var publication = new Publication(message, new StreamPosition(++LastSeq, epoch));
        LastActivity = now;
        if (_capacity == 0)
        {
            return publication;
        }

        if (_count == _items.Length && _items.Length < _capacity)
        {
            var size = Math.Min(Math.Max(_items.Length * 2, 4), _capacity);
            var items = new Publication[size];
            var times = new long[size];
            for (var i = 0; i < _count; i++)
            {
                items[i] = _items[(_head + i) % _items.Length];
                times[i] = _times[(_head + i) % _items.Length];
            }

            _items = items;
            _times = times;
            _head = 0;
        }

        if (_count == _items.Length)
        {
            // Full: the oldest gives way.
            _items[_head] = publication;
            _times[_head] = now;
            _head = (_head + 1) % _items.Length;
            return publication;
        }

        var tail = (_head + _count) % _items.Length;
        _items[tail] = publication;
        _times[tail] = now;
        _count++;
        return publication;
    }

    /// <summary>Drops publications older than <paramref name="maxAge"/>, and the history's array once it is empty.</summary>
    public void Prune(long now, TimeSpan maxAge, TimeProvider time)
    {
        while (_count > 0 && time.GetElapsedTime(_times[_head], now) > maxAge)
        {
            _items[_head] = null!;
            _head = (_head + 1) % _items.Length;
            _count--;
        }

        if (_count == 0 && _items.Length > 0)
        {
            _items = [];
            _times = [];
            _head = 0;
        }
    }

    /// <summary>
    /// Adds every publication the history still holds after <paramref name="lastSeq"/> to <paramref name="into"/>, in
    /// order. Whether they are all of them is <see cref="HistoryResult.FromStream"/>'s to decide.
    /// </summary>
    public void CollectAfter(long lastSeq, List<Publication> into)
    {
        for (var i = 0; i < _count; i++)
        {
            var publication = _items[(_head + i) % _items.Length];
            if (publication.Position.Seq > lastSeq)
            {
                into.Add(publication);
            }
        }
    }
}
