namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// A client's bounded FIFO of frames, bounded by count and bytes. Not thread-safe: the owning connection
/// guards it with its lock. It starts small and grows on demand, so an idle client's queue costs little.
/// One replay (recovery) at a time may be outside the bounds: it is at most one guild's bounded history, and a
/// client that was cut off for being slow must be able to recover more than one queue's worth. A replay queued while
/// replayed frames still wait counts against the bounds like live frames: a client that asks for the history again
/// and again (subscribe with <c>lastSeq</c>, unsubscribe) without reading it meets the bounds like any slow reader.
/// Replayed frames are never coalesced.
/// </summary>
internal sealed class SendQueue
{
    private const int InitialCapacity = 4;

    /// <summary>A queue that grew beyond this for a burst goes back to <see cref="InitialCapacity"/> when trimmed while empty.</summary>
    private const int ShrinkAbove = 64;

    /// <summary>How many consecutive trims (liveness sweeps, 1 s apart by default) must find the queue empty before it shrinks.</summary>
    private const int TrimAfterIdleSweeps = 10;

    private readonly int _maxCount;
    private readonly long _maxBytes;
    private Slot[] _items = new Slot[InitialCapacity];
    private int _head;
    private int _replayCount;
    private int _idleSweeps;
    private long _replayBytes;

    public SendQueue(int maxCount, long maxBytes)
    {
        _maxCount = maxCount;
        _maxBytes = maxBytes;
    }

    public int Count { get; private set; }

    public bool IsEmpty => Count == 0;

    public long Bytes { get; private set; }

    /// <summary>
    /// Appends <paramref name="frame"/>. With <paramref name="coalesce"/>, an older queued frame that the new one
    /// supersedes is removed first, so a client that is behind gets only the newest latest-value event; the new
    /// frame goes to the end, which keeps the stream's sequence numbers increasing.
    /// </summary>
    /// <param name="frame">The frame.</param>
    /// <param name="coalesce">Whether a queued frame that <paramref name="frame"/> supersedes is removed first.</param>
    /// <param name="boundFactor">How many times the queue's bounds apply (1: the bounds; more: the overflow a client whose socket is still taking data may use).</param>
    public EnqueueResult Enqueue(OutboundFrame frame, bool coalesce, int boundFactor = 1)
    {
        var result = EnqueueResult.Queued;
        if (coalesce && frame.IsLatestValue && Count > 0 && RemoveSuperseded(frame))
        {
            result = EnqueueResult.Coalesced;
        }

        if (!Fits(frame, boundFactor))
        {
            return EnqueueResult.Full;
        }

        Append(frame, replay: false, outsideBounds: false);
        return result;
    }

    /// <summary>Gets a value indicating whether replayed frames queued outside the bounds are still waiting.</summary>
    public bool HoldsReplayOutsideBounds => _replayCount > 0;

    /// <summary>Appends a replayed frame, never coalescing it (see the type's remarks).</summary>
    /// <param name="frame">The frame.</param>
    /// <param name="outsideBounds">Whether the frame belongs to the one replay that is outside the bounds.</param>
    /// <param name="boundFactor">How many times the queue's bounds apply otherwise (as for <see cref="Enqueue"/>).</param>
    public EnqueueResult EnqueueReplay(OutboundFrame frame, bool outsideBounds, int boundFactor = 1)
    {
        if (outsideBounds)
        {
            Append(frame, replay: true, outsideBounds: true);
            _replayCount++;
            _replayBytes += frame.Bytes.Length;
            return EnqueueResult.Queued;
        }

        if (!Fits(frame, boundFactor))
        {
            return EnqueueResult.Full;
        }

        Append(frame, replay: true, outsideBounds: false);
        return EnqueueResult.Queued;
    }

    private bool Fits(OutboundFrame frame, int boundFactor) =>
        Count - _replayCount < (long)_maxCount * boundFactor && Bytes - _replayBytes + frame.Bytes.Length <= _maxBytes * boundFactor;

    private void Append(OutboundFrame frame, bool replay, bool outsideBounds)
    {
        if (Count == _items.Length)
        {
            Grow();
        }

        _items[(_head + Count) % _items.Length] = new Slot(frame, replay, outsideBounds);
        Count++;
        Bytes += frame.Bytes.Length;
    }

    public bool TryDequeue(out OutboundFrame frame)
    {
        if (Count == 0)
        {
            frame = null!;
            return false;
        }

        var slot = _items[_head];
        frame = slot.Frame!;
        _items[_head] = default;
        _head = (_head + 1) % _items.Length;
        Count--;
        Bytes -= frame.Bytes.Length;
        if (slot.OutsideBounds)
        {
            _replayCount--;
            _replayBytes -= frame.Bytes.Length;
        }

        return true;
    }

    /// <summary>Returns the frame at the head without removing it.</summary>
    public bool TryPeek(out OutboundFrame frame)
    {
        if (Count == 0)
        {
            frame = null!;
            return false;
        }

        frame = _items[_head].Frame!;
        return true;
    }

    /// <summary>
    /// Gives back the memory a burst made the queue grow (up to SendQueueCapacity slots, 16 KiB at 1,024) once it has
    /// stayed empty for <see cref="TrimAfterIdleSweeps"/> calls. Called from the liveness sweep rather than on every
    /// drain, so recurring bursts reuse the grown array (measured: ~40 B per delivery of regrown arrays otherwise)
    /// and a connection that has gone quiet is small again within seconds.
    /// </summary>
    public void TrimExcess()
    {
        if (Count > 0)
        {
            _idleSweeps = 0;
            return;
        }

        if (_items.Length > ShrinkAbove && ++_idleSweeps >= TrimAfterIdleSweeps)
        {
            _items = new Slot[InitialCapacity];
            _head = 0;
            _idleSweeps = 0;
        }
    }

    public void Clear()
    {
        if (_items.Length > ShrinkAbove)
        {
            _items = new Slot[InitialCapacity];
        }

        Array.Clear(_items);
        _head = 0;
        Count = 0;
        Bytes = 0;
        _replayCount = 0;
        _replayBytes = 0;
    }

    private bool RemoveSuperseded(OutboundFrame newer)
    {
        for (var i = 0; i < Count; i++)
        {
            var slot = _items[(_head + i) % _items.Length];
            if (slot.IsReplay || !slot.Frame!.IsSupersededBy(newer))
            {
                continue; // replayed frames are history: left as they are
            }

            // Close the gap by shifting the later frames one place towards the head.
            for (var j = i; j < Count - 1; j++)
            {
                _items[(_head + j) % _items.Length] = _items[(_head + j + 1) % _items.Length];
            }

            _items[(_head + Count - 1) % _items.Length] = default;
            Count--;
            Bytes -= slot.Frame.Bytes.Length;
            return true; // at most one can be queued: each enqueue keeps it so
        }

        return false;
    }

    private void Grow()
    {
        var grown = new Slot[_items.Length * 2];
        for (var i = 0; i < Count; i++)
        {
            grown[i] = _items[(_head + i) % _items.Length];
        }

        _items = grown;
        _head = 0;
    }
}

internal readonly record struct Slot(OutboundFrame? Frame, bool IsReplay, bool OutsideBounds);

internal enum EnqueueResult
{
    /// <summary>The frame was appended.</summary>
    Queued,

    /// <summary>The frame was appended after an older frame it supersedes was removed.</summary>
    Coalesced,

    /// <summary>The queue is at its bound; the frame was not appended.</summary>
    Full,
}
