using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.WebSockets;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Naming;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Security;

namespace LiveUpdates.Internal.Connections;

/// <summary>
/// One dashboard socket: a receive loop that runs the protocol, and a bounded send queue drained by a single
/// writer (a WebSocket allows one send at a time). The writer is not a task per connection: it is queued to
/// the thread pool only while frames are waiting, so an idle connection costs no thread, task or timer.
/// </summary>
internal sealed class ClientConnection : IThreadPoolWorkItem
{
    /// <summary>1013 "Try Again Later": the client fell too far behind and should reconnect and recover.</summary>
    internal const WebSocketCloseStatus SlowConsumerCloseStatus = (WebSocketCloseStatus)1013;

    private static readonly OutboundFrame s_pong = OutboundFrame.Control(ServerMessages.Pong);
    private static long s_nextId;

    /// <summary>The writer's scratch list of frames taken for one batch; filled under the lock, emptied before any await.</summary>
    [ThreadStatic]
    private static List<OutboundFrame>? t_batch;

    private readonly ServerContext _server;
    private readonly HttpListenerContext _httpContext;
    private readonly WebSocket _socket;
    private readonly Action<ClientConnection> _onClosed;
    private readonly TaskCompletionSource _closeSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Everything below is guarded by _gate.
    private readonly object _gate = new();
    private readonly SendQueue _queue;
    private bool _writerActive;
    private bool _batch; // the client declared (and was granted) the batch capability: frames may hold several messages
    private Subscription[] _subscriptions = [];
    private long[]? _subscriptionChanges; // ring of the last MaxSubscriptionChangesPerSecond change times
    private int _subscriptionChangeIndex;
    private AuthenticatedUser? _user;
    private bool _closeRequested;
    private bool _closeWhenDrained;
    private bool _closeTaken;
    private bool _aborted;
    private WebSocketCloseStatus _closeStatus;
    private string _closeReason = ProtocolNames.CloseNormal;
    private string? _endReason; // why the connection ended: a close reason such as SLOW_CONSUMER, or CLIENT_CLOSED, CONNECTION_LOST, SEND_TIMEOUT, SEND_FAILED, CLOSE_TIMEOUT

    // Monotonic timestamps (TimeProvider.GetTimestamp), read by the liveness sweep without the lock.
    private long _lastReceivedAt;
    private long _sendStartedAt;
    private long _closeRequestedAt;
    private long _authDeadlineFrom;

    public ClientConnection(ServerContext server, HttpListenerContext httpContext, WebSocket socket, Action<ClientConnection> onClosed)
    {
        _server = server;
        _httpContext = httpContext;
        _socket = socket;
        _onClosed = onClosed;
        _queue = new SendQueue(server.Options.SendQueueCapacity, server.Options.SendQueueMaxBytes);
        Id = Interlocked.Increment(ref s_nextId);
        RemoteEndPoint = httpContext.Request.RemoteEndPoint?.ToString();
        _lastReceivedAt = _authDeadlineFrom = server.Now;
    }

    public long Id { get; }

    public string? RemoteEndPoint { get; }

    /// <summary>Completes when the connection is closed, cleaned up and its socket disposed.</summary>
    public Task Completion => _completed.Task;

    public AuthenticatedUser? User
    {
        get
        {
            lock (_gate)
            {
                return _user;
            }
        }
    }

    public IReadOnlyList<string> Subscriptions
    {
        get
        {
            lock (_gate)
            {
                return [.. _subscriptions.Select(s => s.GuildId)];
            }
        }
    }

    /// <summary>Gets a value indicating whether the connection is closing or closed.</summary>
    public bool IsClosing
    {
        get
        {
            lock (_gate)
            {
                return _closeRequested || _aborted;
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

    /// <summary>Runs the connection until it closes. Never throws.</summary>
    public async Task RunAsync()
    {
        Log.ConnectionOpened(_server.Logger, Id, RemoteEndPoint);
        _server.Metrics.Connections.Add(1);
        Enqueue(_server.ConnectedFrame);
        var options = _server.Options;

        // The receive buffer is rented only while a message is being read. Between messages the loop waits with a
        // zero-byte receive (the WebSocket reads the next frame header into its own small buffer), so an idle
        // connection holds no receive buffer: 4 KiB less per connection at 10,000 connections.
        byte[]? buffer = null;
        var length = 0;
        var discarding = false;
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result;
                if (buffer is null)
                {
                    result = await _socket.ReceiveAsync(Memory<byte>.Empty, CancellationToken.None).ConfigureAwait(false);
                    buffer = ArrayPool<byte>.Shared.Rent(options.ReceiveBufferBytes);
                }
                else
                {
                    if (length == buffer.Length)
                    {
                        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, options.MaxInboundMessageBytes));
                        buffer.AsSpan(0, length).CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = grown;
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None).ConfigureAwait(false);
                }

                Volatile.Write(ref _lastReceivedAt, _server.Now);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    SetEndReason("CLIENT_CLOSED");
                    break;
                }

                if (discarding)
                {
                    continue;
                }

                length += result.Count;
                if (!result.EndOfMessage)
                {
                    if (length >= options.MaxInboundMessageBytes)
                    {
                        // Keep reading (and dropping) until the client answers our close frame.
                        discarding = true;
                        length = 0;
                        Enqueue(Control(ServerMessages.Error(LiveErrorCodes.MessageTooLarge, $"Messages are limited to {options.MaxInboundMessageBytes} bytes.")));
                        RequestClose(WebSocketCloseStatus.MessageTooBig, ProtocolNames.CloseMessageTooLarge, drainFirst: true);
                    }

                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    Enqueue(Control(ServerMessages.Error(LiveErrorCodes.UnsupportedFrame, "Binary frames are not supported; send JSON text frames.")));
                }
                else
                {
                    try
                    {
                        await HandleMessageAsync(buffer.AsMemory(0, length)).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is not (WebSocketException or OperationCanceledException or ObjectDisposedException))
                    {
                        // A bug must cost one message, never the connection's cleanup.
                        Log.SeamFailed(_server.Logger, ex, "message handler", Id);
                        Enqueue(Control(ServerMessages.Error(LiveErrorCodes.InternalError, "The server failed to handle the message.")));
                    }
                }

                length = 0;
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or HttpListenerException or IOException)
        {
            SetEndReason("CONNECTION_LOST");
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        await CleanUpAsync().ConfigureAwait(false);
    }

    private async ValueTask HandleMessageAsync(ReadOnlyMemory<byte> frame)
    {
        if (!ClientMessageParser.TryParse(frame.Span, out var message, out var error))
        {
            Enqueue(Control(ServerMessages.Error(error.Code, error.Message)));
            return;
        }

        switch (message.Type)
        {
            case ClientMessageType.Ping:
                Enqueue(s_pong);
                break;
            case ClientMessageType.Auth:
                await AuthenticateAsync(message.Token, message.Batch).ConfigureAwait(false);
                break;
            case ClientMessageType.Subscribe:
                await SubscribeAsync(message.GuildId!, message.LastSeq, message.Epoch).ConfigureAwait(false);
                break;
            case ClientMessageType.Unsubscribe:
                Unsubscribe(message.GuildId!);
                break;
        }
    }

    private async ValueTask AuthenticateAsync(string? token, bool batch)
    {
        if (string.IsNullOrEmpty(token))
        {
            RefuseAuth(LiveErrorCodes.TokenMissing, "The auth message carried no token.");
            return;
        }

        TokenValidationOutcome outcome;
        IReadOnlyList<string> guilds;
        try
        {
            outcome = await _server.TokenValidator.ValidateAsync(token, _server.Stopping.Token).ConfigureAwait(false);
            if (!outcome.IsValid)
            {
                RefuseAuth(outcome.ErrorCode, outcome.Message);
                return;
            }

            guilds = await _server.AccessPolicy.GetGuildsAsync(outcome.User, _server.Stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_server.Stopping.IsCancellationRequested)
        {
            Log.SeamFailed(_server.Logger, ex, "token validator or access policy", Id);
            Enqueue(Control(ServerMessages.Error(LiveErrorCodes.InternalError, "Authentication failed on the server; try again.")));
            return;
        }

        var user = outcome.User;
        Subscription[] dropped = [];
        lock (_gate)
        {
            if (_user is not null && !string.Equals(_user.UserId, user.UserId, StringComparison.Ordinal))
            {
                // A different user on the same socket starts from nothing.
                dropped = _subscriptions;
                _subscriptions = [];
            }

            _user = user;

            // Packing needs messages without raw newlines: compact JSON always is; indented payloads are not.
            _batch = batch && _server.Options.MaxBatchBytes > 0 && !_server.Options.SerializerOptions.WriteIndented;
            EnqueueLocked(Control(ServerMessages.Authenticated(user.UserId, guilds, _batch)));
        }

        LeaveRooms(dropped);
        Log.Authenticated(_server.Logger, Id, user.UserId);
    }

    private void RefuseAuth(string code, string message)
    {
        Log.AuthFailed(_server.Logger, Id, code);
        _server.Metrics.AuthFailures.Add(1, new KeyValuePair<string, object?>("code", code));
        Enqueue(Control(ServerMessages.Error(code, message)));
    }

    private async ValueTask SubscribeAsync(string guildId, long? lastSeq, string? epoch)
    {
        if (!TryAcceptSubscriptionChange(guildId, out var user))
        {
            return;
        }

        lock (_gate)
        {
            if (FindLocked(guildId) is null && _subscriptions.Length >= _server.Options.MaxGuildsPerClient)
            {
                EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.TooManyGuilds, $"At most {_server.Options.MaxGuildsPerClient} guilds per connection.", guildId)));
                RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseTooManyGuilds, drainFirst: true);
                return;
            }
        }

        var accessVersion = _server.Dispatcher.AccessVersion;
        GuildAccess access;
        try
        {
            access = await _server.AccessPolicy.GetAccessAsync(user, guildId, _server.Stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_server.Stopping.IsCancellationRequested)
        {
            Log.SeamFailed(_server.Logger, ex, "access policy", Id);
            Enqueue(Control(ServerMessages.Error(LiveErrorCodes.InternalError, "The subscription could not be checked; try again.", guildId)));
            return;
        }

        if (!access.CanOpen)
        {
            Log.SubscribeForbidden(_server.Logger, Id, user.UserId, guildId);
            Enqueue(Control(ServerMessages.Error(LiveErrorCodes.Forbidden, "No access to this guild.", guildId)));
            return;
        }

        // The dispatcher queues `subscribed`, replays what the client missed and joins the room between two
        // broadcasts. Awaiting it keeps this client's messages in order (a following unsubscribe sees the join).
        if (await _server.Dispatcher.JoinAsync(new JoinRequest(this, user, access, accessVersion, guildId, lastSeq, epoch), _server.Stopping.Token).ConfigureAwait(false))
        {
            Log.Subscribed(_server.Logger, Id, user.UserId, guildId);
        }
    }

    /// <summary>
    /// Called on the dispatcher loop: queues <c>subscribed</c> and the replayed events, and joins the room, unless
    /// the session changed or ended meanwhile. Nothing is broadcast while this runs.
    /// </summary>
    public bool CompleteJoin(AuthenticatedUser user, GuildAccess access, string guildId, byte[] subscribed, List<OutboundFrame> replay)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_user, user) || _closeRequested || _aborted)
            {
                return false;
            }

            var existing = FindLocked(guildId);
            EnqueueLocked(Control(subscribed));
            if (existing is not null)
            {
                // Live events have been flowing all along; a replay would repeat them. The access is refreshed.
                ReplaceLocked(existing, existing with { Access = access });
                return true;
            }

            foreach (var frame in replay)
            {
                if (access.Allows(frame.Category))
                {
                    _queue.EnqueueReplay(frame);
                }
            }

            _subscriptions = [.. _subscriptions, new Subscription(guildId, access)];

            // Joining under the connection's lock: a concurrent session expiry either sees this subscription or
            // refuses it (the user check above), so a room never keeps a connection that left it.
            _server.Rooms.Add(guildId, this);
        }

        _server.Metrics.Subscriptions.Add(1);
        return true;
    }

    /// <summary>Called on the dispatcher loop when a re-check refused the subscription: the client gets FORBIDDEN.</summary>
    public bool RefuseJoin(string guildId)
    {
        Enqueue(Control(ServerMessages.Error(LiveErrorCodes.Forbidden, "No access to this guild.", guildId)));
        return false;
    }

    private void Unsubscribe(string guildId)
    {
        if (!TryAcceptSubscriptionChange(guildId, out _))
        {
            return;
        }

        Subscription? removed;
        lock (_gate)
        {
            removed = FindLocked(guildId);
            if (removed is not null)
            {
                RemoveLocked(removed);
            }

            // Events are filtered against _subscriptions under this same lock, so none follows `unsubscribed`.
            EnqueueLocked(Control(ServerMessages.Unsubscribed(guildId)));
        }

        if (removed is not null)
        {
            LeaveRooms([removed]);
        }
    }

    /// <summary>The checks every subscribe/unsubscribe passes first: authenticated, a snowflake, within the rate limit.</summary>
    private bool TryAcceptSubscriptionChange(string guildId, [NotNullWhen(true)] out AuthenticatedUser? user)
    {
        user = User;
        if (user is null)
        {
            Enqueue(Control(ServerMessages.Error(LiveErrorCodes.AuthRequired, "Send an auth message first.")));
            return false;
        }

        if (!LiveNames.IsValidGuildId(guildId))
        {
            Enqueue(Control(ServerMessages.Error(LiveErrorCodes.InvalidGuildId, "guildId must be a Discord snowflake (1 to 20 digits).")));
            return false;
        }

        return TryCountSubscriptionChange();
    }

    /// <summary>Counts a subscribe/unsubscribe against the per-second limit; past it, the client gets RATE_LIMITED and is closed.</summary>
    private bool TryCountSubscriptionChange()
    {
        var limit = _server.Options.MaxSubscriptionChangesPerSecond;
        var now = _server.Now;
        lock (_gate)
        {
            _subscriptionChanges ??= new long[limit];
            var oldest = _subscriptionChanges[_subscriptionChangeIndex];
            if (oldest != 0 && _server.TimeProvider.GetElapsedTime(oldest, now) < TimeSpan.FromSeconds(1))
            {
                EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.RateLimited, $"At most {limit} subscribe/unsubscribe messages per second.")));
                RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseRateLimited, drainFirst: true);
                return false;
            }

            _subscriptionChanges[_subscriptionChangeIndex] = now;
            _subscriptionChangeIndex = (_subscriptionChangeIndex + 1) % limit;
            return true;
        }
    }

    /// <summary>
    /// Re-resolves what the user may see of <paramref name="guildId"/> after its permissions changed: a user who lost
    /// the guild is unsubscribed with FORBIDDEN; otherwise the feature filter is replaced. Called by the dispatcher
    /// before it fans out anything else, so no later event is filtered with the old permissions.
    /// </summary>
    public async Task ReauthorizeAsync(string guildId)
    {
        AuthenticatedUser? user;
        lock (_gate)
        {
            user = FindLocked(guildId) is null ? null : _user;
        }

        if (user is null)
        {
            return;
        }

        GuildAccess access;
        try
        {
            access = await _server.AccessPolicy.GetAccessAsync(user, guildId, _server.Stopping.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !_server.Stopping.IsCancellationRequested)
        {
            // When in doubt, stop sending: the client may subscribe again and be checked afresh.
            Log.SeamFailed(_server.Logger, ex, "access policy", Id);
            access = GuildAccess.None;
        }

        Subscription? removed = null;
        lock (_gate)
        {
            var current = FindLocked(guildId);
            if (current is null || !ReferenceEquals(_user, user))
            {
                return;
            }

            if (access.CanOpen)
            {
                ReplaceLocked(current, current with { Access = access });
                return;
            }

            removed = current;
            RemoveLocked(current);
            EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.Forbidden, "Access to this guild was revoked.", guildId)));
        }

        Log.SubscribeForbidden(_server.Logger, Id, user.UserId, guildId);
        LeaveRooms([removed]);
    }

    private Subscription? FindLocked(string guildId)
    {
        foreach (var s in _subscriptions)
        {
            if (string.Equals(s.GuildId, guildId, StringComparison.Ordinal))
            {
                return s;
            }
        }

        return null;
    }

    private void RemoveLocked(Subscription subscription) =>
        _subscriptions = [.. _subscriptions.Where(s => !ReferenceEquals(s, subscription))];

    private void ReplaceLocked(Subscription old, Subscription replacement) =>
        _subscriptions = [.. _subscriptions.Select(s => ReferenceEquals(s, old) ? replacement : s)];

    /// <summary>
    /// Delivers an event frame if the connection is still subscribed to its guild. Called by the dispatcher.
    /// With <paramref name="writeDirectly"/>, a client whose writer is idle and whose queue is empty is written to
    /// right here, on the dispatcher's thread, instead of queueing a writer to the thread pool: on loopback and
    /// healthy networks the write completes synchronously, so a paced event reaches 1,000 idle clients without
    /// 1,000 thread-pool work items (measured: less CPU per delivery and a lower latency tail). A write that does
    /// not complete at once is finished by this connection's writer, so a slow client never holds the dispatcher.
    /// </summary>
    public void EnqueueEvent(OutboundFrame frame, bool writeDirectly = false)
    {
        lock (_gate)
        {
            // The subscription and its feature filter are checked here, per client, against the shared frame.
            if (FindLocked(frame.GuildId!) is not { } subscription || !subscription.Access.Allows(frame.Category))
            {
                return;
            }

            if (!writeDirectly || _writerActive || !_queue.IsEmpty || _aborted || _closeRequested)
            {
                EnqueueLocked(frame);
                return;
            }

            // This thread is the connection's writer for this one frame (one send at a time, as ever).
            _writerActive = true;
        }

        WriteDirectly(frame);
    }

    /// <summary>Queues a run of event frames of one guild, in order, under one lock: as many <see cref="EnqueueEvent"/> calls would.</summary>
    public void EnqueueEvents(List<OutboundFrame> frames)
    {
        lock (_gate)
        {
            if (FindLocked(frames[0].GuildId!) is not { } subscription)
            {
                return;
            }

            foreach (var frame in frames)
            {
                if (subscription.Access.Allows(frame.Category))
                {
                    EnqueueLocked(frame);
                }
            }
        }
    }

    private void WriteDirectly(OutboundFrame frame)
    {
        Volatile.Write(ref _sendStartedAt, _server.Now);
        ValueTask pending;
        try
        {
            pending = _socket.SendAsync(frame.Bytes.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
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
        _server.Metrics.EventsDelivered.Add(1);
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

        Volatile.Write(ref _sendStartedAt, 0);
        if (frame.GuildId is not null)
        {
            _server.Metrics.EventsDelivered.Add(1);
        }

        await WriteLoopAsync().ConfigureAwait(false); // still the writer: drain what queued up meanwhile
    }

    private void SendFailed(Exception ex)
    {
        Log.SendFailed(_server.Logger, Id, ex.Message);
        SetEndReason("SEND_FAILED");
        Abort(); // as in the writer: the connection is torn down, so _writerActive stays set and no writer starts
    }

    private static OutboundFrame Control(byte[] bytes) => OutboundFrame.Control(bytes);

    private void Enqueue(OutboundFrame frame)
    {
        lock (_gate)
        {
            EnqueueLocked(frame);
        }
    }

    private void EnqueueLocked(OutboundFrame frame)
    {
        if (_aborted || _closeRequested)
        {
            return;
        }

        var coalesce = _server.Options.CoalesceLatestValueEvents && !_queue.IsEmpty;
        switch (_queue.Enqueue(frame, coalesce))
        {
            case EnqueueResult.Coalesced:
                _server.Metrics.EventsCoalesced.Add(1);
                break;
            case EnqueueResult.Full:
                // A client this far behind is told to go and come back (it reconnects and recovers what it
                // missed) rather than allowed to grow memory or slow anyone else. A client that does not
                // even read the close frame is aborted after CloseTimeout by the liveness check.
                Log.SlowConsumer(_server.Logger, Id, _queue.Count, _queue.Bytes);
                _queue.Clear();
                RequestCloseLocked(SlowConsumerCloseStatus, ProtocolNames.CloseSlowConsumer, drainFirst: false);
                return;
        }

        ScheduleWriterLocked();
    }

    private void ScheduleWriterLocked()
    {
        // _writerActive also covers a direct write by the dispatcher (EnqueueEvent); it schedules the writer when done.
        if (!_writerActive)
        {
            _writerActive = true;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        }
    }

    void IThreadPoolWorkItem.Execute() => _ = WriteLoopAsync();

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
                    else if (_batch)
                    {
                        batch = TakeBatchLocked(frame);
                    }
                }

                Volatile.Write(ref _sendStartedAt, _server.Now);
                if (closeReason is not null)
                {
                    if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                    {
                        await _socket.CloseOutputAsync(closeStatus, closeReason, CancellationToken.None).ConfigureAwait(false);
                    }

                    _closeSent.TrySetResult();
                }
                else if (batch is not null)
                {
                    await SendBatchAsync(batch).ConfigureAwait(false);
                }
                else
                {
                    var pending = _socket.SendAsync(frame!.Bytes.AsMemory(), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
                    if (!pending.IsCompletedSuccessfully)
                    {
                        await pending.ConfigureAwait(false);
                    }

                    if (frame.GuildId is not null)
                    {
                        _server.Metrics.EventsDelivered.Add(1);
                    }
                }

                Volatile.Write(ref _sendStartedAt, 0);
            }
        }
        catch (Exception ex)
        {
            Log.SendFailed(_server.Logger, Id, ex.Message);
            SetEndReason("SEND_FAILED");
            Abort();
        }
    }

    /// <summary>
    /// For a batch client, takes the frames queued behind <paramref name="first"/> that fit in
    /// <see cref="LiveUpdatesOptions.MaxBatchBytes"/> with it, in queue order; <see langword="null"/> when none does
    /// (the frame then goes alone, with no copy). Only references move under the lock; the bytes are copied later.
    /// </summary>
    private List<OutboundFrame>? TakeBatchLocked(OutboundFrame first)
    {
        var max = _server.Options.MaxBatchBytes;
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
        foreach (var f in batch)
        {
            length += f.Bytes.Length;
            events += f.GuildId is null ? 0 : 1;
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
            var pending = _socket.SendAsync(buffer.AsMemory(0, written), WebSocketMessageType.Text, endOfMessage: true, CancellationToken.None);
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
            _server.Metrics.EventsDelivered.Add(events);
        }
    }

    /// <summary>
    /// Starts a close handshake: the writer sends the close frame (after the queued frames when
    /// <paramref name="drainFirst"/>, else at once, dropping them); the receive loop ends when the client answers.
    /// </summary>
    public void RequestClose(WebSocketCloseStatus status, string reason, bool drainFirst)
    {
        lock (_gate)
        {
            RequestCloseLocked(status, reason, drainFirst);
        }
    }

    private void RequestCloseLocked(WebSocketCloseStatus status, string reason, bool drainFirst)
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
        Volatile.Write(ref _closeRequestedAt, _server.Now);
        ScheduleWriterLocked();
        Log.Closing(_server.Logger, Id, status, reason);
    }

    /// <summary>Tears the connection down at once: pending receive and send fail and the TCP connection is reset.</summary>
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

        _closeSent.TrySetResult();
        _socket.Abort();

        // On Linux, WebSocket.Abort leaves HttpListener's TCP connection open (dotnet/runtime#58614);
        // aborting the response closes the connection and releases the listener's context.
        AbortHttpContext();
    }

    private void AbortHttpContext()
    {
        try
        {
            _httpContext.Response.Abort();
        }
        catch (Exception ex) when (ex is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // Already closed.
        }
    }

    private void SetEndReason(string reason)
    {
        lock (_gate)
        {
            _endReason ??= reason;
        }
    }

    /// <summary>Applies the auth, idle, send and close timeouts and token expiry; called by the liveness sweep.</summary>
    public void CheckLiveness(long now, DateTimeOffset utcNow)
    {
        var options = _server.Options;
        var time = _server.TimeProvider;
        lock (_gate)
        {
            _queue.TrimExcess();
        }

        var closeRequestedAt = Volatile.Read(ref _closeRequestedAt);
        if (closeRequestedAt != 0)
        {
            if (time.GetElapsedTime(closeRequestedAt, now) > options.CloseTimeout)
            {
                Log.TimedOut(_server.Logger, Id, "close handshake");
                SetEndReason("CLOSE_TIMEOUT");
                Abort();
            }

            return;
        }

        var sendStartedAt = Volatile.Read(ref _sendStartedAt);
        if (sendStartedAt != 0 && time.GetElapsedTime(sendStartedAt, now) > options.SendTimeout)
        {
            Log.TimedOut(_server.Logger, Id, "send");
            SetEndReason("SEND_TIMEOUT");
            Abort();
            return;
        }

        if (options.IdleTimeout != Timeout.InfiniteTimeSpan &&
            time.GetElapsedTime(Volatile.Read(ref _lastReceivedAt), now) > options.IdleTimeout)
        {
            Log.TimedOut(_server.Logger, Id, "idle");
            RequestClose(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseIdleTimeout, drainFirst: false);
            return;
        }

        Subscription[]? dropped;
        lock (_gate)
        {
            if (_user is null)
            {
                if (time.GetElapsedTime(_authDeadlineFrom, now) <= options.AuthTimeout)
                {
                    return;
                }

                EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.AuthTimeout, $"No successful auth within {options.AuthTimeout.TotalSeconds:0.###} s.")));
                dropped = null;
            }
            else if (_user.ExpiresAt is not { } expiresAt || utcNow <= expiresAt + options.ClockSkew)
            {
                return;
            }
            else
            {
                // The session ends; the socket stays so the client can send a fresh auth without reconnecting.
                Log.SessionExpired(_server.Logger, Id, _user.UserId);
                dropped = _subscriptions;
                _subscriptions = [];
                _user = null;
                _authDeadlineFrom = now;
                EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.TokenExpired, "The session token expired; send a fresh auth.")));
            }
        }

        if (dropped is not null)
        {
            LeaveRooms(dropped);
            return;
        }

        Log.TimedOut(_server.Logger, Id, "auth");
        RequestClose(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseAuthTimeout, drainFirst: true);
    }

    private void LeaveRooms(Subscription[] subscriptions)
    {
        foreach (var subscription in subscriptions)
        {
            _server.Rooms.Remove(subscription.GuildId, this);
        }

        _server.Metrics.Subscriptions.Add(-subscriptions.Length);
    }

    private async Task CleanUpAsync()
    {
        Subscription[] subscriptions;
        lock (_gate)
        {
            subscriptions = _subscriptions;
            _subscriptions = [];
        }

        LeaveRooms(subscriptions);

        // Complete the close handshake the client started, or wait for ours to be sent.
        if (_socket.State == WebSocketState.CloseReceived)
        {
            RequestClose(WebSocketCloseStatus.NormalClosure, ProtocolNames.CloseNormal, drainFirst: false);
        }

        bool closeRequested;
        string endReason;
        lock (_gate)
        {
            closeRequested = _closeRequested && !_aborted;
            endReason = _endReason ?? "CONNECTION_LOST";
        }

        if (closeRequested)
        {
            try
            {
                await _closeSent.Task.WaitAsync(_server.Options.CloseTimeout, _server.TimeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        if (_socket.State != WebSocketState.Closed)
        {
            Abort();
        }

        _socket.Dispose();

        // Releases HttpListener's per-connection context, which it otherwise keeps for its lifetime on Linux.
        AbortHttpContext();

        Log.ConnectionClosed(_server.Logger, Id, endReason);
        _server.Metrics.Connections.Add(-1);
        _server.Metrics.Disconnects.Add(1, new KeyValuePair<string, object?>("reason", endReason));
        _onClosed(this);
        _completed.TrySetResult();
    }
}
