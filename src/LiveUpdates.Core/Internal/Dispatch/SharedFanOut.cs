using System.Runtime.ExceptionServices;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Subscriptions;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// One frame written directly to a large room's members by the dispatch loop and up to <c>ProcessorCount − 1</c>
/// thread-pool helpers at once. A direct write is a socket send (for HttpListener a <c>sendto</c> on the loop's own
/// thread), so a room of 10,000 idle clients made the loop send 10,000 times in a row on one core: measured, the last
/// member's receipt came within a few milliseconds of the loop's last send (docs/benchmarks.md "Capacity").
/// </summary>
/// <remarks>
/// Work sharing, not splitting: the members are cut into chunks of <see cref="ChunkSize"/> that the loop and the
/// helpers take in turn from one counter, so a helper the thread pool starts late (or never, when it is saturated)
/// only means the loop takes more chunks itself; nobody waits for a helper that has not started. The loop returns
/// only when every chunk is done (it waits for the helpers still in one, at most one chunk's writes), so each member is
/// written by exactly one thread and, as before, the next publication goes out after this one has reached every
/// member: the per-client order, the slow-consumer bounds and the join bookkeeping are those of the serial loop.
/// One instance per fan-out (a helper that starts after the fan-out ended finds nothing to do).
/// </remarks>
internal sealed class SharedFanOut : IThreadPoolWorkItem
{
    /// <summary>Members per chunk: small enough that the wait for a helper's last chunk is short, large enough that taking one is rare.</summary>
    public const int ChunkSize = 128;

    /// <summary>Rooms smaller than this are written to by the loop alone: waking a helper costs more than it would write.</summary>
    public const int MinMembers = 1024;

    /// <summary>At most this many helpers per fan-out, whatever the core count.</summary>
    private const int MaxHelpers = 15;

    private readonly ISubscriber[] _members;
    private readonly OutboundFrame _frame;
    private readonly int _chunks;
    private readonly object _done = new();
    private int _nextChunk;
    private int _inChunks;
    private int _closed;
    private Exception? _failure;

    private SharedFanOut(ISubscriber[] members, OutboundFrame frame)
    {
        _members = members;
        _frame = frame;
        _chunks = (members.Length + ChunkSize - 1) / ChunkSize;
    }

    /// <summary>Gets a value indicating whether a room of <paramref name="members"/> is written to by more than one thread on this machine.</summary>
    public static bool Applies(int members) => members >= MinMembers && Environment.ProcessorCount > 1;

    /// <summary>Writes <paramref name="frame"/> to every member (each one <see cref="ISubscriber.Deliver(OutboundFrame, bool)"/> with a direct write) and returns when all are done.</summary>
    public static void Deliver(ISubscriber[] members, OutboundFrame frame)
    {
        var fanOut = new SharedFanOut(members, frame);
        var helpers = Math.Min(Math.Min(Environment.ProcessorCount - 1, MaxHelpers), fanOut._chunks - 1);
        for (var i = 0; i < helpers; i++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(fanOut, preferLocal: false);
        }

        try
        {
            fanOut.TakeChunks();
        }
        finally
        {
            fanOut.Close();
        }

        if (Volatile.Read(ref fanOut._failure) is { } failure)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    /// <summary>A helper: registers, then takes chunks unless the fan-out is already over.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        Interlocked.Increment(ref _inChunks);
        try
        {
            if (Volatile.Read(ref _closed) == 0)
            {
                TakeChunks();
            }
        }
        catch (Exception ex)
        {
            Interlocked.CompareExchange(ref _failure, ex, null); // rethrown on the loop, which logs it as a failed fan-out
        }
        finally
        {
            if (Interlocked.Decrement(ref _inChunks) == 0 && Volatile.Read(ref _closed) != 0)
            {
                lock (_done)
                {
                    Monitor.PulseAll(_done); // the loop may be waiting for this helper's last chunk
                }
            }
        }
    }

    private void TakeChunks()
    {
        int chunk;
        while ((chunk = Interlocked.Increment(ref _nextChunk) - 1) < _chunks)
        {
            var end = Math.Min(_members.Length, (chunk + 1) * ChunkSize);
            for (var i = chunk * ChunkSize; i < end; i++)
            {
                _members[i].Deliver(_frame, writeDirectly: true);
            }
        }
    }

    /// <summary>
    /// Ends the fan-out for helpers not yet registered, then waits for those still in a chunk. A helper registers
    /// (interlocked) before it reads <see cref="_closed"/>, and this sets it (interlocked) before it reads the count, so
    /// a helper either is counted here or sees the fan-out closed and touches nothing. The last helper to leave a chunk
    /// after the close pulses <see cref="_done"/>.
    /// </summary>
    private void Close()
    {
        Interlocked.Exchange(ref _closed, 1);
        Interlocked.Exchange(ref _nextChunk, int.MaxValue / 2); // chunks not taken yet (the loop failed) are skipped
        var spin = default(SpinWait);
        while (Volatile.Read(ref _inChunks) != 0 && !spin.NextSpinWillYield)
        {
            spin.SpinOnce();
        }

        // Then blocks rather than spins: on a busy machine a spinning loop would take the core the helper needs to
        // finish its chunk. The last helper out pulses (under the lock, so the pulse cannot come before the wait).
        lock (_done)
        {
            while (Volatile.Read(ref _inChunks) != 0)
            {
                Monitor.Wait(_done);
            }
        }
    }
}
