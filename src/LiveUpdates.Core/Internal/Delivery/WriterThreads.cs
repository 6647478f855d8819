using System.Collections.Concurrent;

namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// The threads that run client writers (<see cref="ClientWriter"/>): one per core (at least two), shared by every
/// server in the process, each taking the next writer that has frames waiting; thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// Why not the thread pool: a fan-out to thousands of clients queues thousands of writers at once, and on the pool
/// they sat in front of everything else the process does on it. The Redis client's socket reads and writes run there
/// (StackExchange.Redis 3.x has no threads of its own by default), so during a burst the broker's script replies and
/// channel messages waited up to 1.2 s behind the writers (measured with a timestamp per hop: send to reply took
/// 7 ms at the median and up to 1,150 ms while writers were queued; docs/benchmarks.md, "Morning runs"), the
/// next publications came in late and the cores idled once the writers were done. A client's reads, a JWKS refresh
/// and a permission lookup waited the same way. On threads of their own, writers share the cores with the pool
/// through the OS scheduler instead, and the pool stays free for short work.
/// </para>
/// <para>
/// A writer runs here until its socket's send does not complete at once; the send's completion (on the runtime's
/// socket threads or the pool) then queues the writer here again rather than running it there, so that a slow
/// client's backlog is never written from a pool thread either. Per client nothing changes: one writer at a time
/// (<see cref="ClientWriter"/>'s own flag), frames in queue order.
/// </para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001:Types that own disposable fields should be disposable", Justification = "One instance for the process's lifetime, its threads never end.")]
internal sealed class WriterThreads
{
    /// <summary>The process's writer threads (started on first use, background threads that never end).</summary>
    public static readonly WriterThreads Shared = new(Math.Max(2, Environment.ProcessorCount));

    private readonly ConcurrentQueue<ClientWriter> _queue = new();
    private readonly SemaphoreSlim _ready = new(0);

    private WriterThreads(int count)
    {
        for (var i = 0; i < count; i++)
        {
            // UnsafeStart: the threads outlive whatever started them (the first connection's writer, perhaps inside
            // an ASP.NET Core request), so they must not carry its execution context (Activity, logging scope).
            new Thread(Run) { IsBackground = true, Name = "LiveUpdates writer" }.UnsafeStart();
        }
    }

    /// <summary>Queues a writer; it runs on the next free writer thread, after the writers queued before it.</summary>
    public void Queue(ClientWriter writer)
    {
        _queue.Enqueue(writer);
        _ready.Release();
    }

    private void Run()
    {
        while (true)
        {
            _ready.Wait();
            if (_queue.TryDequeue(out var writer))
            {
                try
                {
                    writer.Run();
                }
                catch (Exception)
                {
                    // A writer handles its own failures (its loop catches every send error and aborts its client);
                    // nothing that escapes it may end the thread every other client's writer runs on.
                }
            }
        }
    }
}
