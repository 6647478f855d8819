using System.Buffers;
using System.IO.Pipelines;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// One end of an in-memory, full-duplex byte stream (two <see cref="Pipe"/>s): what one end writes, the other reads,
/// in order. Disposing an end fails its pending read, as a reset socket does, and is the end of the stream for the
/// other end's reads. Writes never wait (the pipes are unbounded).
/// </summary>
internal sealed class InMemoryDuplexStream : Stream
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly object _writeLock = new();
    private int _disposed;

    private InMemoryDuplexStream(PipeReader input, PipeWriter output)
    {
        _input = input;
        _output = output;
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Creates two connected ends.</summary>
    public static (InMemoryDuplexStream A, InMemoryDuplexStream B) CreatePair()
    {
        var options = new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false);
        var aToB = new Pipe(options);
        var bToA = new Pipe(options);
        return (new InMemoryDuplexStream(bToA.Reader, aToB.Writer), new InMemoryDuplexStream(aToB.Reader, bToA.Writer));
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var result = await _input.ReadAsync(cancellationToken);
        ObjectDisposedException.ThrowIf(result.IsCanceled || Volatile.Read(ref _disposed) != 0, this);

        // A zero-byte read waits for data and consumes none; at the end of the stream every read returns 0.
        var data = result.Buffer;
        var count = (int)Math.Min(data.Length, buffer.Length);
        data.Slice(0, count).CopyTo(buffer.Span);
        _input.AdvanceTo(data.GetPosition(count));
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Write(buffer.AsSpan(offset, count));
        return Task.CompletedTask;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_writeLock)
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            _output.Write(buffer);

            // Unbounded: the flush completes at once.
            _output.FlushAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_writeLock)
            {
                _output.Complete();
            }

            _input.CancelPendingRead();
        }

        base.Dispose(disposing);
    }
}
