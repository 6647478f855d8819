using System.Buffers;
using System.Net.WebSockets;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Protocol;
using Microsoft.Extensions.Logging;

// Longer than our ~450-line guide on purpose: one writer's state machine (queue, direct write, batch, close frame)
// under one lock; its states are only consistent when read together.

namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// The one writer of a client socket (a WebSocket allows one send at a time), called from any thread under its
/// connection's lock and run on the <see cref="WriterThreads"/>: a bounded send queue, a writer that is queued there
/// only while frames wait (an idle client costs no thread, task or timer), direct writes from the dispatcher to idle
/// clients, batching for clients that accept packed frames, and the close frame.
/// </summary>
/// <remarks>
/// The writer's state is guarded by the gate it is given, which is the connection's lock: the connection holds it
/// while it checks a subscription and queues a frame, so that nothing it queued can overtake a later decision (no
/// event after <c>unsubscribed</c>). Members ending in <c>Locked</c> must be called under it.
/// Why it is long (~640 lines): the queue, the writer's scheduling, the direct writes, batching, replay bounds and the
/// close share that one lock-guarded state, and splitting them would put the state behind a second object that every
/// send on the hot path goes through; <see cref="SendQueue"/> already holds what could be taken out.
/// </remarks>
internal sealed partial class ClientWriter
{
    /// <summary>1013 "Try Again Later": the client fell too far behind and should reconnect and recover.</summary>
    public const WebSocketCloseStatus SlowConsumerCloseStatus = (WebSocketCloseStatus)1013;

    /// <summary>
    /// How many times its bounds a client's queue may hold while its socket keeps taking data. The queued frames are
    /// shared by every recipient, so what one client's overflow costs is a 16-byte slot per frame (16 × 1,024 slots:
    /// 256 KiB at the default bound), not a copy of the events.
    /// </summary>
    internal const int OverflowFactor = 16;

    /// <summary>The writer's scratch list of frames taken for one batch; filled under the lock, emptied before any await.</summary>
    [ThreadStatic]
    private static List<OutboundFrame>? t_batch;

    private readonly WebSocket _socket;
    private readonly object _gate;
    private readonly LiveUpdatesOptions _options;
    private readonly LiveUpdatesMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _connectionId;
    private readonly IConnectionTransport _transport; // aborted with the socket (no delegate per connection)

    // Made when first awaited (an idle connection never needs one: 88 bytes); guarded by _gate.
    private TaskCompletionSource? _closeSent;
    private bool _closeSentDone;

    // Guarded by _gate.
    private readonly SendQueue _queue;
    private bool _writerActive;
    private bool _closeRequested;
    private bool _closeWhenDrained;
    private bool _closeTaken;
    private bool _aborted;
    private WebSocketCloseStatus _closeStatus;
    private string _closeReason = string.Empty;
    private string? _endReason;

    // Monotonic timestamps (TimeProvider.GetTimestamp), read by the liveness sweep without the lock.
    private long _sendStartedAt;
    private long _closeRequestedAt;

    /// <param name="socket">The client's socket.</param>
    /// <param name="gate">The connection's lock, which guards the writer's state (see the remarks).</param>
    /// <param name="options">The server's settings (queue bounds, batch size, coalescing, timeouts).</param>
    /// <param name="metrics">Counts deliveries, coalesced events and slow consumers.</param>
    /// <param name="time">The clock for send and close timeouts.</param>
    /// <param name="logger">The writer's logger.</param>
    /// <param name="connectionId">The connection's id, for logs.</param>
    /// <param name="transport">The connection's transport, aborted once, right after the writer aborted the socket.</param>
    public ClientWriter(WebSocket socket, object gate, LiveUpdatesOptions options, LiveUpdatesMetrics metrics, TimeProvider time, ILogger logger, long connectionId, IConnectionTransport transport)
    {
        _socket = socket;
        _gate = gate;
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _connectionId = connectionId;
        _transport = transport;
        _queue = new SendQueue(options.SendQueueCapacity, options.SendQueueMaxBytes);
    }

    /// <summary>Gets or sets a value indicating whether queued messages may be packed into one frame (under the gate).</summary>
    public bool Batch { get; set; }

    /// <summary>Completes when the close frame has been sent, or the socket aborted.</summary>
    public Task CloseSent
    {
        get
        {
            lock (_gate)
            {
                return _closeSentDone ? Task.CompletedTask : (_closeSent ??= new(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
            }
        }
    }

    /// <summary>Gets a value indicating whether a close was requested or the socket aborted (under the gate).</summary>
    public bool IsClosingLocked => _closeRequested || _aborted;

    /// <summary>Gets a value indicating whether a close handshake of ours is under way (not aborted).</summary>
    public bool CloseRequested
    {
        get
        {
            lock (_gate)
            {
                return _closeRequested && !_aborted;
            }
        }
    }

    /// <summary>Gets how many messages wait in the send queue.</summary>
    public int QueuedMessages
    {
        get
        {
            lock (_gate)
            {
                return _queue.Count;
            }
        }
    }

    /// <summary>Gets why the connection ended, once known (a close reason, or SEND_FAILED, SEND_TIMEOUT, CLOSE_TIMEOUT…).</summary>
    public string? EndReason
    {
        get
        {
            lock (_gate)
            {
                return _endReason;
            }
        }
    }

    public void SetEndReason(string reason)
    {
        lock (_gate)
        {
            _endReason ??= reason;
        }
    }

    public void Enqueue(OutboundFrame frame)
    {
        lock (_gate)
        {
            EnqueueLocked(frame);
        }
    }

    /// <summary>Queues a frame; a queue at its bound cuts the client off as a slow consumer (close 1013).</summary>
    public void EnqueueLocked(OutboundFrame frame)
    {
        if (_aborted || _closeRequested)
        {
            return;
        }

        var coalesce = _options.CoalesceLatestValueEvents && !_queue.IsEmpty;
        var result = _queue.Enqueue(frame, coalesce);
        if (result == EnqueueResult.Full && SocketIsTakingData())
        {
            // Over the bounds because the server filled the queue faster than it drains it (a burst), not because the
            // client stopped reading: the queue may overflow up to OverflowFactor times its bounds.
            result = _queue.Enqueue(frame, coalesce: false, OverflowFactor);
        }

        AfterEnqueueLocked(result);
    }

    private void AfterEnqueueLocked(EnqueueResult result)
    {
        switch (result)
        {
            case EnqueueResult.Coalesced:
                _metrics.EventsCoalesced.Add(1);
                break;
            case EnqueueResult.Full:
                // A client this far behind is told to go and come back (it reconnects and recovers what it
                // missed) rather than allowed to grow memory or slow anyone else. A client that does not
                // even read the close frame is aborted after CloseTimeout by the liveness check.
                Log.SlowConsumer(_logger, _connectionId, _queue.Count, _queue.Bytes);
                _queue.Clear();
                RequestCloseLocked(SlowConsumerCloseStatus, ProtocolNames.CloseSlowConsumer, drainFirst: false);
                return;
        }

        ScheduleWriterLocked();
    }

    /// <summary>
    /// Whether the client's socket is taking data: no send is in flight (the writer waits for a thread: the server's
    /// backlog, not the client's), or the one in flight started less than <see cref="LiveUpdatesOptions.SlowConsumerTimeout"/> ago.
    /// A client whose send has been stuck that long while its queue is over the bounds is a slow consumer.
    /// </summary>
    private bool SocketIsTakingData()
    {
        var started = Volatile.Read(ref _sendStartedAt);
        return started == 0 || _time.GetElapsedTime(started) < _options.SlowConsumerTimeout;
    }

    /// <summary>
    /// Queues the frames of one replay. When no earlier replay is still waiting, the replay is outside the queue's
    /// bounds (a recovery larger than the bounds reaches a client that reads); otherwise it counts against them like
    /// live frames, with their overflow while the socket takes data, so a client that asks for replays faster than it
    /// reads them (subscribe with <c>lastSeq</c>, unsubscribe, again) is cut off as a slow consumer (close 1013).
    /// </summary>
    public void EnqueueReplayLocked(IEnumerable<OutboundFrame> frames)
    {
        var outsideBounds = !_queue.HoldsReplayOutsideBounds;
        foreach (var frame in frames)
        {
            if (_aborted || _closeRequested)
            {
                return;
            }

            var result = _queue.EnqueueReplay(frame, outsideBounds);
            if (result == EnqueueResult.Full && SocketIsTakingData())
            {
                result = _queue.EnqueueReplay(frame, outsideBounds: false, OverflowFactor);
            }

            AfterEnqueueLocked(result);
        }
    }

    /// <summary>
    /// Makes the calling thread the writer for one frame when the writer is idle and nothing is queued; the caller
    /// then calls <see cref="WriteDirectly"/>. On loopback and healthy networks the write completes synchronously,
    /// so a paced event reaches 1,000 idle clients without 1,000 queued writers (measured: less CPU per
    /// delivery and a lower latency tail). A write that does not complete at once is finished by the writer.
    /// </summary>
    public bool TryBeginDirectWriteLocked()
    {
        if (_writerActive || !_queue.IsEmpty || _aborted || _closeRequested)
        {
            return false;
        }

        _writerActive = true;
        return true;
    }

    /// <summary>
    /// Sends one whole text message. Where the transport negotiated per-message deflate
    /// (<see cref="LiveUpdatesOptions.EnableCompression"/>), a message under
    /// <see cref="LiveUpdatesOptions.CompressionThresholdBytes"/> goes uncompressed: deflating it would cost more CPU
    /// than the bytes it saves. On a socket without compression the flag changes nothing.
    /// </summary>
    private ValueTask Send(ReadOnlyMemory<byte> message) =>
        _socket.SendAsync(
            message,
            WebSocketMessageType.Text,
            message.Length < _options.CompressionThresholdBytes ? WebSocketMessageFlags.EndOfMessage | WebSocketMessageFlags.DisableCompression : WebSocketMessageFlags.EndOfMessage,
            CancellationToken.None);

    public void WriteDirectly(OutboundFrame frame)
    {
        Volatile.Write(ref _sendStartedAt, _time.GetTimestamp());
        ValueTask pending;
        try
        {
            pending = Send(frame.Bytes);
        }
        catch (Exception ex)
        {
            SendFailed(ex);
            return;
        }

        if (!pending.IsCompleted)
        {
            _ = FinishWriteAsync(pending, frame); // the socket is busy: the writer takes over from here
            return;
        }

        try
        {
            pending.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            SendFailed(ex);
            return;
        }

        Volatile.Write(ref _sendStartedAt, 0);
        CountDelivered(frame);
        lock (_gate)
        {
            _writerActive = false;

            // A control message or a close request may have arrived while this thread was writing.
            if (!_aborted && (!_queue.IsEmpty || (_closeRequested && !_closeTaken)))
            {
                ScheduleWriterLocked();
            }
        }
    }

    /// <summary>
    /// Starts a close handshake: the writer sends the close frame (after the queued frames when
    /// <paramref name="drainFirst"/>, else at once, dropping them).
    /// </summary>
    public void RequestClose(WebSocketCloseStatus status, string reason, bool drainFirst)
    {
        lock (_gate)
        {
            RequestCloseLocked(status, reason, drainFirst);
        }
    }

    public void RequestCloseLocked(WebSocketCloseStatus status, string reason, bool drainFirst)
    {
        if (_closeRequested || _aborted)
        {
            return;
        }

        _closeRequested = true;
        _closeWhenDrained = drainFirst;
        _closeStatus = status;
        _closeReason = reason;
        _endReason ??= reason;
        Volatile.Write(ref _closeRequestedAt, _time.GetTimestamp());
        ScheduleWriterLocked();
        Log.Closing(_logger, _connectionId, status, reason);
    }

    /// <summary>Tears the socket down at once: pending receive and send fail.</summary>
    public void Abort()
    {
        lock (_gate)
        {
            if (_aborted)
            {
                return;
            }

            _aborted = true;
            _queue.Clear();
        }

        CompleteCloseSent();
        _socket.Abort();
        _transport.Abort();
    }

    private void CompleteCloseSent()
    {
        TaskCompletionSource? closeSent;
        lock (_gate)
        {
            _closeSentDone = true;
            closeSent = _closeSent;
        }

        closeSent?.TrySetResult();
    }

    /// <summary>Applies the close and send timeouts; returns <see langword="true"/> when a close is under way (nothing else to check).</summary>
    public bool CheckTimeouts(long now)
    {
        lock (_gate)
        {
            _queue.TrimExcess();
        }

        var closeRequestedAt = Volatile.Read(ref _closeRequestedAt);
        if (closeRequestedAt != 0)
        {
            if (_time.GetElapsedTime(closeRequestedAt, now) > _options.CloseTimeout)
            {
                Log.TimedOut(_logger, _connectionId, "close handshake");
                SetEndReason("CLOSE_TIMEOUT");
                Abort();
            }

            return true;
        }

        var sendStartedAt = Volatile.Read(ref _sendStartedAt);
        if (sendStartedAt != 0 && _time.GetElapsedTime(sendStartedAt, now) > _options.SendTimeout)
        {
            Log.TimedOut(_logger, _connectionId, "send");
            SetEndReason("SEND_TIMEOUT");
            Abort();
            return true;
        }

        return false;
    }

    /// <summary>Runs the writer on the calling writer thread (<see cref="WriterThreads"/>) until its queue is empty or a send has to wait.</summary>
    public void Run() => _ = WriteLoopAsync();

    private void ScheduleWriterLocked()
    {
        // _writerActive also covers a direct write by the dispatcher; it schedules the writer when done.
        if (!_writerActive)
        {
            _writerActive = true;

            // On the writer threads, not the pool: what arrives from outside during a fan-out (a Redis reply or
            // channel message, the loop's own wake-up, a client's read) must not wait behind a thousand writers.
            WriterThreads.Shared.Queue(this);
        }
    }

    /// <summary>The writer's send did not complete at once and now has: it goes on on the writer threads, not on the thread that completed the send.</summary>
    private void Requeue()
    {
        Volatile.Write(ref _sendStartedAt, 0);
        WriterThreads.Shared.Queue(this);
    }

    private void CountDelivered(OutboundFrame frame)
    {
        if (frame.EventName is not null)
        {
            _metrics.EventsDelivered.Add(1);
            RecordLatency(frame.Timestamp);
        }
    }

    /// <summary>Records the delivery latency of an event written just now (replays included: they were late).</summary>
    private void RecordLatency(long broadcastAt)
    {
        if (broadcastAt != 0 && _metrics.DeliveryLatency.Enabled)
        {
            _metrics.DeliveryLatency.Record(Math.Max(0, _time.GetUtcNow().ToUnixTimeMilliseconds() - broadcastAt));
        }
    }

    private async Task FinishWriteAsync(ValueTask pending, OutboundFrame frame)
    {
        try
        {
            await pending.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            SendFailed(ex);
            return;
        }

        CountDelivered(frame);
        Requeue(); // still the writer: drain what queued up meanwhile
    }

    private void SendFailed(Exception ex)
    {
        Log.SendFailed(_logger, _connectionId, ex.Message);
        SetEndReason("SEND_FAILED");
        Abort(); // the connection is torn down, so _writerActive stays set and no writer starts
    }

    private async Task WriteLoopAsync()
    {
        try
        {
            while (true)
            {
                OutboundFrame? frame = null;
                List<OutboundFrame>? batch = null;
                WebSocketCloseStatus closeStatus = default;
                string? closeReason = null;
                lock (_gate)
                {
                    if (_aborted)
                    {
                        _writerActive = false;
                        return;
                    }

                    if (_closeRequested && !_closeTaken && (!_closeWhenDrained || _queue.Count == 0))
                    {
                        _closeTaken = true;
                        _queue.Clear();
                        closeStatus = _closeStatus;
                        closeReason = _closeReason;
                    }
                    else if (_closeTaken || !_queue.TryDequeue(out frame))
                    {
                        _writerActive = false;
                        return;
                    }
                    else if (Batch)
                    {
                        batch = TakeBatchLocked(frame);
                    }
                }

                Volatile.Write(ref _sendStartedAt, _time.GetTimestamp());
                if (closeReason is not null)
                {
                    if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(closeStatus, closeReason, CancellationToken.None).ConfigureAwait(false);
                    }

                    CompleteCloseSent();
                }
                else if (batch is not null)
                {
                    var sent = SendBatchAsync(batch);
                    if (!sent.IsCompletedSuccessfully)
                    {
                        await sent.ConfigureAwait(false);
                        Requeue();
                        return;
                    }
                }
                else
                {
                    var pending = Send(frame!.Bytes.AsMemory());
                    if (!pending.IsCompletedSuccessfully)
                    {
                        await pending.ConfigureAwait(false);
                        CountDelivered(frame);
                        Requeue();
                        return;
                    }

                    CountDelivered(frame);
                }

                Volatile.Write(ref _sendStartedAt, 0);
            }
        }
        catch (Exception ex)
        {
            SendFailed(ex);
        }
    }

    /// <summary>
    /// For a batch client, takes the frames queued behind <paramref name="first"/> that fit in
    /// <see cref="LiveUpdatesOptions.MaxBatchBytes"/> with it, in queue order; <see langword="null"/> when none does
    /// (the frame then goes alone, with no copy). Only references move under the lock; the bytes are copied later.
    /// </summary>
    private List<OutboundFrame>? TakeBatchLocked(OutboundFrame first)
    {
        var max = _options.MaxBatchBytes;
        if (!_queue.TryPeek(out var next) || first.Bytes.Length + 1 + next.Bytes.Length > max)
        {
            return null;
        }

        var batch = t_batch ??= [];
        batch.Add(first);
        var length = first.Bytes.Length;
        while (_queue.TryPeek(out next) && length + 1 + next.Bytes.Length <= max)
        {
            _queue.TryDequeue(out next);
            batch.Add(next);
            length += 1 + next.Bytes.Length;
        }

        return batch;
    }

    /// <summary>
    /// Sends the frames of <paramref name="batch"/> as one text frame, newline-separated (NDJSON): one socket write
    /// for the whole backlog instead of one per message (HttpListener's WebSocket makes a send system call per frame).
    /// </summary>
    private async ValueTask SendBatchAsync(List<OutboundFrame> batch)
    {
        var length = batch.Count - 1;
        var events = 0;
        long oldest = 0;
        foreach (var f in batch)
        {
            length += f.Bytes.Length;
            if (f.EventName is not null)
            {
                events++;
                oldest = oldest == 0 ? f.Timestamp : Math.Min(oldest, f.Timestamp);
            }
        }

        var buffer = ArrayPool<byte>.Shared.Rent(length);
        var written = 0;
        foreach (var f in batch)
        {
            if (written > 0)
            {
                buffer[written++] = (byte)'\n';
            }

            f.Bytes.CopyTo(buffer, written);
            written += f.Bytes.Length;
        }

        // The scratch list belongs to this thread; it must be empty before the first await.
        batch.Clear();
        try
        {
            var pending = Send(buffer.AsMemory(0, written));
            if (!pending.IsCompletedSuccessfully)
            {
                await pending.ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        if (events > 0)
        {
            _metrics.EventsDelivered.Add(events);
            RecordLatency(oldest); // one sample per packed frame: its oldest event
        }
    }

    private static partial class Log
    {
        [LoggerMessage(9, LogLevel.Warning, "Connection {ConnectionId} fell {QueuedMessages} messages / {QueuedBytes} bytes behind and was disconnected as a slow consumer")]
        public static partial void SlowConsumer(ILogger logger, long connectionId, int queuedMessages, long queuedBytes);

        [LoggerMessage(10, LogLevel.Information, "Connection {ConnectionId} timed out: {Reason}")]
        public static partial void TimedOut(ILogger logger, long connectionId, string reason);

        [LoggerMessage(11, LogLevel.Debug, "Connection {ConnectionId} send failed: {Error}")]
        public static partial void SendFailed(ILogger logger, long connectionId, string error);

        [LoggerMessage(19, LogLevel.Debug, "Connection {ConnectionId} closing with {Status} {Reason}")]
        public static partial void Closing(ILogger logger, long connectionId, WebSocketCloseStatus status, string reason);
    }
}
