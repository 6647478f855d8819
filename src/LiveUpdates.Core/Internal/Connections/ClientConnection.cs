using System.Buffers;
using System.Net.WebSockets;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Sessions;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Connections;

/// <summary>
/// One dashboard socket from accept to clean-up, driven by its own receive loop and called from any thread (the
/// dispatcher, the liveness sweep, the server's stop), its state guarded by the connection's lock: the receive loop,
/// the protocol (auth, subscribe, unsubscribe, ping), liveness, the close handshake. Who the socket is lives in its <see cref="ClientSession"/>, what
/// it watches in its <see cref="SubscriptionSet"/>, and everything it sends goes through its <see cref="ClientWriter"/>,
/// which it hands its lock. Its part as a room member (subscriptions, joins, delivery) is in ClientConnection.Subscriptions.cs.
/// It runs over any <see cref="WebSocket"/>: what only the transport knows or can do (the peer's end point, tear the
/// connection down, release it) is an <see cref="IConnectionTransport"/>. An idle connection's memory is counted in
/// docs/benchmarks.md ("Our share of an idle connection"): keep per-connection state small, and lazy where it can be.
/// </summary>
internal sealed partial class ClientConnection : ISubscriber
{
    private static readonly OutboundFrame s_pong = OutboundFrame.Control(ServerMessages.Pong);
    private static long s_nextId;

    private readonly ServerContext _server;
    private readonly WebSocket _socket;
    private readonly IConnectionTransport _transport;
    private readonly ILogger _logger;
    private readonly Action<ClientConnection> _onClosed;
    private readonly ClientWriter _writer;

    // The connection's run (RunAsync), which is its completion: set once, right after it starts.
    private Task? _run;

    // The connection's lock, handed to its writer (whose queue it also guards). Guards the four fields below.
    private readonly object _gate = new();
    private readonly SubscriptionSet _subscriptions = new();

    // Mutable structs, inline in the connection (not readonly: their methods update them in place).
    private ClientSession _session;
    private SlidingWindowLimiter _subscriptionChanges;

    // The user whose MaxConnectionsPerUser slot this connection holds (given back at clean-up).
    private string? _countedUserId;

    // Monotonic timestamps (TimeProvider.GetTimestamp); the last one is read by the liveness sweep without the lock.
    private readonly long _openedAt;
    private long _lastReceivedAt;

    /// <summary>A connection over an open <paramref name="socket"/>; <paramref name="onClosed"/> is called once, after clean-up.</summary>
    public ClientConnection(ServerContext server, WebSocket socket, IConnectionTransport transport, Action<ClientConnection> onClosed)
    {
        _server = server;
        _socket = socket;
        _transport = transport;
        _onClosed = onClosed;
        _logger = server.ConnectionLogger;
        Id = Interlocked.Increment(ref s_nextId);
        _lastReceivedAt = _openedAt = server.Now;
        _writer = new ClientWriter(socket, _gate, server.Options, server.Metrics, server.TimeProvider, server.WriterLogger, Id, transport);
        _session = new ClientSession(server.Options, server.TimeProvider, _lastReceivedAt);
        _subscriptionChanges = new SlidingWindowLimiter(server.Options.MaxSubscriptionChangesPerSecond, TimeSpan.FromSeconds(1), server.TimeProvider);
    }

    public long Id { get; }

    /// <summary>Completes when the connection is closed, cleaned up and its socket disposed (the task <see cref="RunAsync"/> returned).</summary>
    /// <remarks>
    /// The server calls <see cref="RunAsync"/> right after it adds the connection to its registry; a reader that finds
    /// the connection there in between waits the few instructions until the run has started.
    /// </remarks>
    public Task Completion
    {
        get
        {
            Task? run;
            var spin = default(SpinWait);
            while ((run = Volatile.Read(ref _run)) is null)
            {
                spin.SpinOnce();
            }

            return run;
        }
    }

    public AuthenticatedUser? User
    {
        get
        {
            lock (_gate)
            {
                return _session.User;
            }
        }
    }

    /// <summary>Gets how many messages wait in the send queue.</summary>
    public int QueuedMessages => _writer.QueuedMessages;

    /// <summary>Gets a value indicating whether the connection is closing or closed.</summary>
    public bool IsClosing
    {
        get
        {
            lock (_gate)
            {
                return _writer.IsClosingLocked;
            }
        }
    }

    /// <summary>Gets how many guilds the connection is subscribed to.</summary>
    public int SubscriptionCount
    {
        get
        {
            lock (_gate)
            {
                return _subscriptions.Count;
            }
        }
    }

    /// <summary>Runs the connection until it closes and is cleaned up; called once. Never throws (it logs its own failures).</summary>
    /// <returns>The connection's <see cref="Completion"/>.</returns>
    public Task RunAsync()
    {
        var run = ReceiveLoopAsync();
        Volatile.Write(ref _run, run);
        return run;
    }

    /// <summary>Starts a close handshake (see <see cref="ClientWriter.RequestClose"/>).</summary>
    public void RequestClose(WebSocketCloseStatus status, string reason, bool drainFirst) => _writer.RequestClose(status, reason, drainFirst);

    /// <summary>
    /// Ends the connection if it is authenticated as <paramref name="userId"/>: its subscriptions end at once (nothing
    /// is delivered after this returns) and it closes with 4001 <c>USER_DISCONNECTED</c>, dropping what was queued.
    /// </summary>
    /// <returns>Whether the connection was the user's.</returns>
    public bool DisconnectUser(string userId)
    {
        lock (_gate)
        {
            if (!string.Equals(_session.User?.UserId, userId, StringComparison.Ordinal) || _writer.IsClosingLocked)
            {
                return false;
            }

            LeaveRooms(_subscriptions.Clear());
            _writer.RequestCloseLocked(ProtocolNames.UserDisconnectedCloseStatus, ProtocolNames.CloseUserDisconnected, drainFirst: false);
        }

        Log.UserDisconnected(_logger, Id, userId, ProtocolNames.CloseUserDisconnected);
        return true;
    }

    /// <summary>Tears the connection down at once: pending receive and send fail and the TCP connection is reset.</summary>
    public void Abort() => _writer.Abort();

    // The connection's one state machine for its whole life: the receive loop, then the clean-up (an idle connection
    // keeps only this one, not a second that awaits it).
    private async Task ReceiveLoopAsync()
    {
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            Log.ConnectionOpened(_logger, Id, _transport.RemoteEndPoint);
        }

        _server.Metrics.Connections.Add(1);
        _writer.Enqueue(_server.ConnectedFrame);
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
                        var grown = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, options.MaxInboundMessageBytes + 1));
                        buffer.AsSpan(0, length).CopyTo(grown);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = grown;
                    }

                    // Never more than one byte past the limit: pooled buffers are larger than asked for, and the limit
                    // must hold exactly whatever its value.
                    result = await _socket.ReceiveAsync(buffer.AsMemory(length, Math.Min(buffer.Length, options.MaxInboundMessageBytes + 1) - length), CancellationToken.None).ConfigureAwait(false);
                }

                Volatile.Write(ref _lastReceivedAt, _server.Now);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    _writer.SetEndReason("CLIENT_CLOSED");
                    break;
                }

                if (discarding)
                {
                    continue;
                }

                length += result.Count;
                if (length > options.MaxInboundMessageBytes)
                {
                    // Keep reading (and dropping) until the client answers our close frame.
                    discarding = true;
                    length = 0;
                    SendError(LiveErrorCodes.MessageTooLarge, $"Messages are limited to {options.MaxInboundMessageBytes} bytes.");
                    _writer.RequestClose(WebSocketCloseStatus.MessageTooBig, ProtocolNames.CloseMessageTooLarge, drainFirst: true);
                    continue;
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    SendError(LiveErrorCodes.UnsupportedFrame, "Binary frames are not supported; send JSON text frames.");
                }
                else if (IsClosing)
                {
                    // Our close is under way and nothing more would be sent: what the client still sends is read and
                    // dropped, not parsed (a client cut off for looping on auth would keep the server refusing it
                    // until it reads the close).
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
                        Log.SeamFailed(_logger, ex, "message handler", Id);
                        SendError(LiveErrorCodes.InternalError, "The server failed to handle the message.");
                    }
                }

                length = 0;
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = null;

                // One message per turn on the thread pool: a receive of data already buffered completes at once, so a
                // client sending back to back would otherwise have its whole backlog handled on one pool thread, ahead
                // of every other connection's work (issue 10: an auth flood kept new dashboards waiting for seconds).
                await Task.Yield();
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException or IOException || _transport.IsConnectionLost(ex))
        {
            _writer.SetEndReason("CONNECTION_LOST");
        }
        catch (Exception ex)
        {
            // A bug in the loop itself: the connection ends, and is still cleaned up.
            Log.SeamFailed(_logger, ex, "receive loop", Id);
            _writer.SetEndReason("CONNECTION_LOST");
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        try
        {
            await CleanUpAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.SeamFailed(_logger, ex, "clean-up", Id);
            _transport.Abort();
        }
    }

    private async ValueTask HandleMessageAsync(ReadOnlyMemory<byte> frame)
    {
        if (!ClientMessageParser.TryParse(frame.Span, out var message, out var error))
        {
            SendError(error.Code, error.Message);
            return;
        }

        switch (message.Type)
        {
            case ClientMessageType.Ping:
                _writer.Enqueue(s_pong);
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

    /// <summary>Applies the idle and auth timeouts, token expiry and the writer's timeouts; called by the liveness sweep.</summary>
    public void CheckLiveness(long now, DateTimeOffset utcNow)
    {
        if (_writer.CheckTimeouts(now))
        {
            return;
        }

        var options = _server.Options;
        if (options.IdleTimeout != Timeout.InfiniteTimeSpan &&
            _server.TimeProvider.GetElapsedTime(Volatile.Read(ref _lastReceivedAt), now) > options.IdleTimeout)
        {
            Log.TimedOut(_logger, Id, "idle");
            _writer.RequestClose(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseIdleTimeout, drainFirst: false);
            return;
        }

        lock (_gate)
        {
            // The rate limits' windows are let go once nothing in them is recent (an idle connection keeps none).
            _session.Trim(now);
            _subscriptionChanges.Trim(now);
            var user = _session.User;
            switch (_session.Check(now, utcNow))
            {
                case SessionState.Valid:
                    return;
                case SessionState.AuthTimedOut:
                    Log.TimedOut(_logger, Id, "auth");
                    _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.AuthTimeout, $"No successful auth within {options.AuthTimeout.TotalSeconds:0.###} s.")));
                    _writer.RequestCloseLocked(WebSocketCloseStatus.PolicyViolation, ProtocolNames.CloseAuthTimeout, drainFirst: true);
                    return;
                default:
                    Log.SessionExpired(_logger, Id, user!.UserId);
                    LeaveRooms(_subscriptions.Clear());
                    _writer.EnqueueLocked(Control(ServerMessages.Error(LiveErrorCodes.TokenExpired, "The session token expired; send a fresh auth.")));
                    break;
            }
        }
    }

    private static OutboundFrame Control(byte[] bytes) => OutboundFrame.Control(bytes);

    private void SendError(string code, string message, string? guildId = null) =>
        _writer.Enqueue(Control(ServerMessages.Error(code, message, guildId)));

    private async Task CleanUpAsync()
    {
        lock (_gate)
        {
            LeaveRooms(_subscriptions.Clear());
            if (_countedUserId is { } counted)
            {
                _server.UserConnections.Release(counted);
                _countedUserId = null;
            }
        }

        // Complete the close handshake the client started, or wait for ours to be sent.
        if (_socket.State == WebSocketState.CloseReceived)
        {
            _writer.RequestClose(WebSocketCloseStatus.NormalClosure, ProtocolNames.CloseNormal, drainFirst: false);
        }

        if (_writer.CloseRequested)
        {
            try
            {
                await _writer.CloseSent.WaitAsync(_server.Options.CloseTimeout, _server.TimeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
            }
        }

        if (_socket.State != WebSocketState.Closed)
        {
            _writer.Abort();
        }

        _socket.Dispose();

        // Whatever the transport keeps per connection is given back only now, once the socket is disposed.
        _transport.Release();

        var endReason = _writer.EndReason ?? "CONNECTION_LOST";
        Log.ConnectionClosed(_logger, Id, endReason);
        _server.Metrics.Connections.Add(-1);
        _server.Metrics.Disconnects.Add(1, new KeyValuePair<string, object?>("reason", endReason));
        _server.Metrics.ConnectionDuration.Record(_server.TimeProvider.GetElapsedTime(_openedAt).TotalSeconds, new KeyValuePair<string, object?>("reason", endReason));
        _onClosed(this);
    }
}
