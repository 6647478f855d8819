using System.Collections.Concurrent;
using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Internal;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace LiveUpdates.Tests.Unit;

/// <summary>The writer alone, over a recording socket: one send at a time, order, batching, the close frame.</summary>
[TestFixture]
public sealed class ClientWriterTests
{
    [Test]
    public async Task FramesQueuedBehindABusySend_ArePackedIntoOneFrame_ForABatchClient_InOrder()
    {
        var socket = new RecordingSocket();
        var (writer, metrics) = Writer(socket, batch: true);
        using var _ = metrics;
        socket.HoldSends();

        writer.Enqueue(Event(1));
        await Wait.UntilAsync(() => socket.SendsStarted == 1, "the first send is under way");
        writer.Enqueue(Event(2));
        writer.Enqueue(Event(3));
        writer.Enqueue(Event(4));
        socket.ReleaseSends();
        await Wait.UntilAsync(() => socket.Frames.Count == 2, "two frames sent");

        Assert.Multiple(() =>
        {
            Assert.That(socket.Frames.ElementAt(0), Is.EqualTo("{\"n\":1}"));
            Assert.That(socket.Frames.ElementAt(1), Is.EqualTo("{\"n\":2}\n{\"n\":3}\n{\"n\":4}"), "the backlog in one frame, newline-separated");
            Assert.That(socket.MaxConcurrentSends, Is.EqualTo(1), "one send at a time");
        });
    }

    [Test]
    public async Task APlainClient_GetsOneMessagePerFrame_InOrder()
    {
        var socket = new RecordingSocket();
        var (writer, metrics) = Writer(socket, batch: false);
        using var _ = metrics;
        socket.HoldSends();

        writer.Enqueue(Event(1));
        await Wait.UntilAsync(() => socket.SendsStarted == 1, "the first send is under way");
        writer.Enqueue(Event(2));
        writer.Enqueue(Event(3));
        socket.ReleaseSends();
        await Wait.UntilAsync(() => socket.Frames.Count == 3, "three frames sent");

        Assert.That(socket.Frames, Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}" }));
        Assert.That(socket.MaxConcurrentSends, Is.EqualTo(1));
    }

    [Test]
    public async Task AWriter_SendsFromTheWriterThreads_AlsoAfterASendThatHadToWait()
    {
        // Not from the thread pool: a fan-out's thousand writers there kept the Redis client's socket work (which
        // runs on the pool) waiting for up to a second (WriterThreads). The held send completes on a pool thread
        // (its continuation is asynchronous); the frames behind it must still be sent from a writer thread.
        var socket = new RecordingSocket();
        var (writer, metrics) = Writer(socket, batch: false);
        using var _ = metrics;
        socket.HoldSends();

        writer.Enqueue(Event(1));
        await Wait.UntilAsync(() => socket.SendsStarted == 1, "the first send is under way");
        writer.Enqueue(Event(2));
        writer.Enqueue(Event(3));
        socket.ReleaseSends();
        await Wait.UntilAsync(() => socket.Frames.Count == 3, "three frames sent");

        Assert.That(socket.SendThreads, Is.EqualTo(new[] { "LiveUpdates writer", "LiveUpdates writer", "LiveUpdates writer" }), "the thread of every send");
        Assert.That(socket.Frames, Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}" }));
    }

    [Test]
    public async Task ABatchClientsWriter_SendsFromTheWriterThreads_AlsoAfterASendThatHadToWait()
    {
        var socket = new RecordingSocket();
        var (writer, metrics) = Writer(socket, batch: true);
        using var _ = metrics;
        socket.HoldSends();

        writer.Enqueue(Event(1));
        await Wait.UntilAsync(() => socket.SendsStarted == 1, "the first send is under way");
        writer.Enqueue(Event(2));
        writer.Enqueue(Event(3));
        socket.ReleaseSends();
        await Wait.UntilAsync(() => socket.Frames.Count == 2, "two frames sent");

        Assert.That(socket.SendThreads, Is.EqualTo(new[] { "LiveUpdates writer", "LiveUpdates writer" }), "the thread of every send");
        Assert.That(socket.Frames, Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}\n{\"n\":3}" }));
        Assert.That(socket.MaxConcurrentSends, Is.EqualTo(1), "one send at a time");
    }

    [Test]
    public async Task ADirectWriteThatHadToWait_IsFinishedByTheWriterThreads()
    {
        // The dispatcher writes the first frame to an idle client itself; when that send cannot complete at once, the
        // frames queued behind it are sent by the writer threads, not by the thread that completed the send.
        var socket = new RecordingSocket();
        var gate = new object();
        var (writer, metrics) = Writer(socket, batch: false, gate: gate);
        using var _ = metrics;
        socket.HoldSends();

        lock (gate)
        {
            Assert.That(writer.TryBeginDirectWriteLocked(), Is.True, "an idle writer takes a direct write");
        }

        writer.WriteDirectly(Event(1));
        writer.Enqueue(Event(2));
        writer.Enqueue(Event(3));
        socket.ReleaseSends();
        await Wait.UntilAsync(() => socket.Frames.Count == 3, "three frames sent");

        Assert.That(socket.SendThreads.Skip(1), Is.EqualTo(new[] { "LiveUpdates writer", "LiveUpdates writer" }), "the sends after the direct one");
        Assert.That(socket.Frames, Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}", "{\"n\":3}" }));
        Assert.That(socket.MaxConcurrentSends, Is.EqualTo(1), "one send at a time");
    }

    [Test]
    public async Task ABatch_NeverExceedsMaxBatchBytes()
    {
        var socket = new RecordingSocket();
        var (writer, metrics) = Writer(socket, batch: true, maxBatchBytes: 16);
        using var _ = metrics;
        socket.HoldSends();

        writer.Enqueue(Event(0));
        await Wait.UntilAsync(() => socket.SendsStarted == 1, "the first send is under way");
        for (var i = 1; i <= 5; i++)
        {
            writer.Enqueue(Event(i)); // 7 bytes each: two fit in 16 with the newline, three do not
        }

        socket.ReleaseSends();
        await Wait.UntilAsync(() => socket.Frames.Count == 4, "four frames sent");

        Assert.That(socket.Frames, Is.EqualTo(new[] { "{\"n\":0}", "{\"n\":1}\n{\"n\":2}", "{\"n\":3}\n{\"n\":4}", "{\"n\":5}" }));
    }

    [Test]
    public async Task CloseAfterDraining_SendsWhatIsQueuedThenTheCloseFrame_CloseAtOnce_DropsTheQueue()
    {
        var drained = new RecordingSocket();
        var (drainWriter, m1) = Writer(drained, batch: false);
        using var _ = m1;
        drained.HoldSends();
        drainWriter.Enqueue(Event(1));
        await Wait.UntilAsync(() => drained.SendsStarted == 1, "a send is under way");
        drainWriter.Enqueue(Event(2));
        drainWriter.RequestClose(WebSocketCloseStatus.PolicyViolation, "RATE_LIMITED", drainFirst: true);
        drainWriter.Enqueue(Event(3)); // after the close request: never sent
        drained.ReleaseSends();
        await Wait.ForAsync(drainWriter.CloseSent, "close frame sent");

        var dropped = new RecordingSocket();
        var (dropWriter, m2) = Writer(dropped, batch: false);
        using var __ = m2;
        dropped.HoldSends();
        dropWriter.Enqueue(Event(1));
        await Wait.UntilAsync(() => dropped.SendsStarted == 1, "a send is under way");
        dropWriter.Enqueue(Event(2));
        dropWriter.RequestClose(WebSocketCloseStatus.EndpointUnavailable, "SERVER_SHUTDOWN", drainFirst: false);
        dropped.ReleaseSends();
        await Wait.ForAsync(dropWriter.CloseSent, "close frame sent");

        Assert.Multiple(() =>
        {
            Assert.That(drained.Frames, Is.EqualTo(new[] { "{\"n\":1}", "{\"n\":2}" }));
            Assert.That(drained.Closes.Single(), Is.EqualTo((WebSocketCloseStatus.PolicyViolation, "RATE_LIMITED")));
            Assert.That(dropped.Frames, Is.EqualTo(new[] { "{\"n\":1}" }), "the queued frame was dropped");
            Assert.That(dropped.Closes.Single(), Is.EqualTo((WebSocketCloseStatus.EndpointUnavailable, "SERVER_SHUTDOWN")));
        });
    }

    [Test]
    public void ADirectWrite_ToAnIdleWriter_CompletesOnTheCallingThread()
    {
        var socket = new RecordingSocket();
        var gate = new object();
        var (writer, metrics) = Writer(socket, batch: false, gate: gate);
        using var _ = metrics;
        bool began;
        lock (gate)
        {
            began = writer.TryBeginDirectWriteLocked();
        }

        writer.WriteDirectly(Event(7));
        bool again;
        lock (gate)
        {
            again = writer.TryBeginDirectWriteLocked(); // idle again once the write completed
        }

        Assert.Multiple(() =>
        {
            Assert.That(began, Is.True);
            Assert.That(socket.Frames, Is.EqualTo(new[] { "{\"n\":7}" }), "written before WriteDirectly returned");
            Assert.That(again, Is.True);
        });
    }

    [Test]
    public async Task MessagesUnderTheCompressionThreshold_AreSentWithCompressionDisabled_LargerOnesMayBeCompressed()
    {
        var socket = new RecordingSocket();
        var (writer, metrics) = Writer(socket, batch: false, compressionThresholdBytes: 8);
        using var _ = metrics;

        writer.Enqueue(Event(1)); // {"n":1}: 7 bytes
        writer.Enqueue(Event(10)); // {"n":10}: 8 bytes
        await Wait.UntilAsync(() => socket.Flags.Count == 2, "two frames sent");

        Assert.That(socket.Flags.Select(f => f.HasFlag(WebSocketMessageFlags.DisableCompression)), Is.EqualTo(new[] { true, false }));
    }

    private static (ClientWriter Writer, LiveUpdatesMetrics Metrics) Writer(RecordingSocket socket, bool batch, int maxBatchBytes = 64 * 1024, object? gate = null, int compressionThresholdBytes = 1024)
    {
        var options = new LiveUpdatesOptions { MaxBatchBytes = maxBatchBytes, CompressionThresholdBytes = compressionThresholdBytes };
        var metrics = new LiveUpdatesMetrics(() => (0, 0));
        var writer = new ClientWriter(socket, gate ?? new object(), options, metrics, TimeProvider.System, NullLogger.Instance, 1, NoTransport.Instance) { Batch = batch };
        return (writer, metrics);
    }

    private static OutboundFrame Event(int n) =>
        OutboundFrame.Event(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "1", "tags:tag_created", n, latestValue: false);

    /// <summary>A transport with nothing to tear down.</summary>
    private sealed class NoTransport : IConnectionTransport
    {
        public static readonly NoTransport Instance = new();

        public string? RemoteEndPoint => null;

        public void Abort()
        {
        }

        public void Release()
        {
        }

        public bool IsConnectionLost(Exception exception) => false;
    }

    /// <summary>A WebSocket that records what is sent; <see cref="HoldSends"/> makes sends wait, as a busy socket does.</summary>
    private sealed class RecordingSocket : WebSocket
    {
        private readonly object _gate = new();
        private TaskCompletionSource? _hold;
        private int _inFlight;

        public ConcurrentQueue<string> Frames { get; } = new();

        public ConcurrentQueue<(WebSocketCloseStatus, string)> Closes { get; } = new();

        public ConcurrentQueue<string> SendThreads { get; } = new();

        public int SendsStarted;

        public int MaxConcurrentSends;

        public override WebSocketCloseStatus? CloseStatus => null;

        public override string? CloseStatusDescription => null;

        public override WebSocketState State => WebSocketState.Open;

        public override string? SubProtocol => null;

        public ConcurrentQueue<WebSocketMessageFlags> Flags { get; } = new();

        public void HoldSends() => _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, WebSocketMessageFlags messageFlags, CancellationToken cancellationToken = default)
        {
            Flags.Enqueue(messageFlags);
            return base.SendAsync(buffer, messageType, messageFlags, cancellationToken);
        }

        public void ReleaseSends() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();

        public override async Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            var text = Encoding.UTF8.GetString(buffer);
            lock (_gate)
            {
                MaxConcurrentSends = Math.Max(MaxConcurrentSends, ++_inFlight);
            }

            SendThreads.Enqueue(Thread.CurrentThread.Name ?? "(unnamed)");
            Interlocked.Increment(ref SendsStarted);
            if (Volatile.Read(ref _hold) is { } hold)
            {
                await hold.Task;
            }

            Frames.Enqueue(text);
            lock (_gate)
            {
                _inFlight--;
            }
        }

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
        {
            Closes.Enqueue((closeStatus, statusDescription ?? string.Empty));
            return Task.CompletedTask;
        }

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            CloseOutputAsync(closeStatus, statusDescription, cancellationToken);

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            Task.FromException<WebSocketReceiveResult>(new NotSupportedException());

        public override void Abort()
        {
        }

        public override void Dispose()
        {
        }
    }
}
