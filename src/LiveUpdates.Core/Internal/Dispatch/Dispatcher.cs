using System.Collections.Concurrent;
using System.Threading.Channels;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

// Longer than our ~450-line guide on purpose: everything here runs on the one dispatch loop and shares state that
// only the loop may touch (pending publications, watched guilds, notices); split across types it would need locks.

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// The one loop between broadcasters, the broker and the guild rooms. It hands broadcasts to the broker in the
/// order they were made, fans the broker's publications out to the rooms (per recipient one enqueue of a frame
/// serialized once: never a serialization or a send), completes subscriptions between two fan-outs (history read,
/// replay and room join are atomic with respect to delivery), and applies permission changes in stream order.
/// </summary>
/// <remarks>
/// A broker that delivers a publication on the loop itself (the in-memory broker does, from inside
/// <see cref="IBroker.PublishAsync"/>) has it fanned out right after the publishing run; one that delivers from its
/// own threads has it queued here as a <see cref="DeliverWork"/>. Nothing is dropped silently: a broadcast that finds
/// the queue full is recorded as a gap in its guild's stream, and a publication that cannot be queued makes the
/// guild's local subscribers refetch.
/// </remarks>
internal sealed partial class Dispatcher : IBrokerHandler
{
    /// <summary>
    /// At most this many broadcasts to one guild, waiting one behind the other, are fanned out together. A tuning
    /// bound, not a limit anyone sees: it caps the scratch lists and how long one guild's run holds the loop.
    /// </summary>
    private const int MaxEventsPerRun = 64;

    // The broker delivers on the publishing call (BrokerCapabilities.InlineDelivery): the dispatcher publishes only
    // from its loop, so such a publication is on the loop already.
    private readonly bool _inline;

    private readonly Channel<DispatchItem> _channel;
    private readonly RoomStore _rooms;
    private readonly IBroker _broker;
    private readonly IGuildAccessPolicy _accessPolicy;
    private readonly EventTraits _traits;
    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LiveUpdatesMetrics _metrics;
    private readonly List<Publication> _pending = [];
    private readonly List<OutboundFrame> _runFrames = [];
    // Guilds this instance asked the broker for, with the subscription's task (completed at once for the in-memory broker).
    private readonly Dictionary<string, Task> _watched = new(StringComparer.Ordinal);

    // Joins waiting for a broker that answers asynchronously (Redis): what was fanned out to their guild meanwhile.
    private readonly Dictionary<string, List<JoinInFlight>> _joining = new(StringComparer.Ordinal);

    // Notices kept outside the bounded queue, so that they cannot be lost when it is full; handled after each item.
    private readonly ConcurrentDictionary<string, byte> _dropped = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StreamPosition> _lost = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _emptied = new();
    private int _noticesPending;
    private long _accessVersion;
    private long _lastProgressAt;
    private bool _asleep; // waiting for work: lag then counts from the broadcast that woke it, not from the last progress
    private long _wokenAt;
    private readonly LogThrottle _dropLog;
    private readonly LogThrottle _publishFailureLog;

    public Dispatcher(LiveUpdatesOptions options, RoomStore rooms, IBroker broker, IGuildAccessPolicy accessPolicy, TimeProvider time, ILogger<Dispatcher> logger, LiveUpdatesMetrics metrics)
    {
        _options = options;
        _rooms = rooms;
        _broker = broker;
        _accessPolicy = accessPolicy;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _traits = new EventTraits(options);
        _inline = (broker.Capabilities & BrokerCapabilities.InlineDelivery) != 0;
        _dropLog = new LogThrottle(time);
        _publishFailureLog = new LogThrottle(time);
        _channel = Channel.CreateBounded<DispatchItem>(new BoundedChannelOptions(options.DispatchQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then reports "full" instead of dropping silently.
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Gets how many items wait in the dispatch queue.</summary>
    public int QueueLength => _channel.Reader.Count;

    /// <summary>Gets how long items have waited without the loop making progress (zero when nothing waits).</summary>
    public TimeSpan Lag => _channel.Reader.Count == 0 ? TimeSpan.Zero
        : _time.GetElapsedTime(Volatile.Read(ref _asleep) ? Math.Max(Volatile.Read(ref _lastProgressAt), Volatile.Read(ref _wokenAt)) : Volatile.Read(ref _lastProgressAt));

    /// <summary>Gets a number that grows with every permission re-check, so a subscription resolved before one can tell.</summary>
    public long AccessVersion => Interlocked.Read(ref _accessVersion);

    /// <summary>Queues a broadcast. Never blocks; a full queue records a gap in the guild's stream (and logs it).</summary>
    public void Post(BrokerMessage message)
    {
        if (Volatile.Read(ref _asleep))
        {
            Volatile.Write(ref _wokenAt, _time.GetTimestamp()); // only when the loop sleeps: not on every broadcast of a burst
        }

        if (!_channel.Writer.TryWrite(DispatchItem.Broadcast(message)))
        {
            _metrics.EventsDropped.Add(1);
            LogDrop(message);
            _dropped.TryAdd(message.GuildId, 0);
            Notify();
        }
    }

    /// <summary>
    /// Queues a subscription; the task says whether the subscriber joined. Unlike a broadcast, a subscription waits for
    /// room in a full queue (only its own client waits), until <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<bool> JoinAsync(JoinWork join, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(DispatchItem.Of(join), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            return false; // the server is stopping
        }

        return await join.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Completes when every broadcast queued before the call has been handed to its recipients.</summary>
    public Task FlushAsync()
    {
        var flush = new FlushWork();
        if (!_channel.Writer.TryWrite(DispatchItem.Of(flush)))
        {
            flush.Completion.TrySetException(new InvalidOperationException("The dispatch queue is full or completed."));
        }

        return flush.Completion.Task;
    }

    /// <summary>Re-resolves every subscription of <paramref name="guildId"/> before anything queued later is fanned out. Waits for room in a full queue.</summary>
    public async Task ReauthorizeAsync(string guildId, CancellationToken cancellationToken)
    {
        var work = new ReauthorizeWork(guildId);
        try
        {
            await _channel.Writer.WriteAsync(DispatchItem.Of(work), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return; // stopping: no subscription is left to re-resolve
        }

        await work.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>A room became empty (called by the subscriber that left): the broker is told once the loop sees it still empty.</summary>
    public void RoomEmptied(string guildId)
    {
        _emptied.Enqueue(guildId);
        Notify();
    }

    public void Complete() => _channel.Writer.TryComplete();

    void IBrokerHandler.OnPublication(Publication publication)
    {
        if (_inline)
        {
            _pending.Add(publication);
        }
        else if (!_channel.Writer.TryWrite(DispatchItem.Of(new DeliverWork(publication))))
        {
            LostLocally(publication.GuildId, publication.Position);
        }
    }

    void IBrokerHandler.OnStreamLost(string guildId, StreamPosition position)
    {
        if (!_channel.Writer.TryWrite(DispatchItem.Of(new StreamLostWork(guildId, position))))
        {
            LostLocally(guildId, position);
        }
    }

    public async Task RunAsync()
    {
        var reader = _channel.Reader;
        Volatile.Write(ref _lastProgressAt, _time.GetTimestamp());
        while (true)
        {
            var wait = reader.WaitToReadAsync();
            if (!wait.IsCompleted)
            {
                Volatile.Write(ref _asleep, true);
                var more = await wait.ConfigureAwait(false);
                Volatile.Write(ref _lastProgressAt, _time.GetTimestamp());
                Volatile.Write(ref _asleep, false);
                if (!more)
                {
                    break;
                }

                // We were asleep and a Broadcast() call just woke us. The scheduler tends to run a thread that wakes
                // from a long sleep at once, on the caller's core, pre-empting the caller in the middle of its call
                // until the fan-out is done (milliseconds with thousands of subscribers). Yielding once hands the core
                // back so the caller's Broadcast() returns in microseconds; the fan-out starts right after it.
                Thread.Yield();
            }
            else if (!wait.Result)
            {
                break;
            }

            Volatile.Write(ref _lastProgressAt, _time.GetTimestamp()); // awake: lag counts from here
            while (reader.TryRead(out var item))
            {
                try
                {
                    if (item.Work is null)
                    {
                        PublishRun(item.Message, reader);
                    }
                    else
                    {
                        await HandleAsync(item.Work).ConfigureAwait(false);
                    }

                    if (_pending.Count > 0)
                    {
                        await FanOutPendingAsync().ConfigureAwait(false);
                    }

                    if (Volatile.Read(ref _noticesPending) != 0)
                    {
                        await HandleNoticesAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception ex)
                {
                    _pending.Clear();
                    Log.DispatchFailed(_logger, ex, item.Message.EventName ?? item.Work?.GetType().Name ?? "work", item.Message.GuildId ?? "-");
                }

                Volatile.Write(ref _lastProgressAt, _time.GetTimestamp());
            }
        }

        // Work still waiting when the server stopped is answered rather than left hanging.
        while (reader.TryRead(out var item))
        {
            switch (item.Work)
            {
                case JoinWork join:
                    join.Completion.TrySetResult(false);
                    break;
                case JoinReadyWork ready:
                    ready.Join.Join.Completion.TrySetResult(false);
                    break;
                case FlushWork flush:
                    flush.Completion.TrySetResult();
                    break;
                case ReauthorizeWork reauthorize:
                    reauthorize.Completion.TrySetResult();
                    break;
            }
        }
    }

    /// <summary>
    /// Publishes a broadcast and the broadcasts to the same guild waiting right behind it (nothing else is overtaken,
    /// so every ordering guarantee holds). Fanned out together, each recipient's lock is taken once for the run, and
    /// its writer finds the whole run queued: one frame for a batch client, one wake-up for any client.
    /// </summary>
    private void PublishRun(BrokerMessage first, ChannelReader<DispatchItem> reader)
    {
        Publish(first);
        if (IsPermissionChange(first))
        {
            return; // fanned out after the room's re-check, alone
        }

        var count = 1;
        while (count < MaxEventsPerRun && reader.TryPeek(out var next) && next.Work is null &&
               string.Equals(next.Message.GuildId, first.GuildId, StringComparison.Ordinal) &&
               !IsPermissionChange(next.Message) && reader.TryRead(out next))
        {
            Publish(next.Message);
            count++;
        }
    }

    private void Publish(BrokerMessage message)
    {
        var publishing = _broker.PublishAsync(message, CancellationToken.None);
        if (!publishing.IsCompletedSuccessfully)
        {
            _ = ObservePublishAsync(publishing, message);
        }
    }

    private async Task ObservePublishAsync(ValueTask<StreamPosition> publishing, BrokerMessage message)
    {
        try
        {
            await publishing.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The broker accounts for it (a gap in the guild's stream); logged at most once a second with the count.
            _metrics.EventsDropped.Add(1);
            if (_publishFailureLog.Count(out var failures))
            {
                Log.PublishFailed(_logger, ex, failures, message.EventName ?? "gap", message.GuildId);
            }
        }
    }

    private async ValueTask HandleAsync(DispatchWork work)
    {
        switch (work)
        {
            case JoinWork join:
                await JoinAsync(join).ConfigureAwait(false);
                break;
            case JoinReadyWork ready:
                try
                {
                    await JoinReadyAsync(ready.Join).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    ready.Join.Join.Completion.TrySetException(ex);
                    throw;
                }

                break;
            case DeliverWork deliver:
                _pending.Add(deliver.Publication);
                break;
            case FlushWork flush:
                if (_pending.Count > 0)
                {
                    await FanOutPendingAsync().ConfigureAwait(false);
                }

                flush.Completion.TrySetResult();
                break;
            case ReauthorizeWork reauthorize:
                await ReauthorizeRoomAsync(reauthorize.GuildId).ConfigureAwait(false);
                reauthorize.Completion.TrySetResult();
                break;
            case StreamLostWork lost:
                await SignalRefetchAsync(lost.GuildId, lost.Position).ConfigureAwait(false);
                break;
            case WakeWork:
                break;
        }
    }

    /// <summary>Fans the pending publications out, a run of one guild at a time; a permission change re-checks its room first.</summary>
    private async ValueTask FanOutPendingAsync()
    {
        var count = _pending.Count;
        var i = 0;
        while (i < count)
        {
            var guildId = _pending[i].GuildId;
            if (IsPermissionChange(_pending[i].Message) || _pending[i].Message.IsGap)
            {
                // A gap may stand for a lost permission change: the room is re-checked before anything after it.
                // The announcement of a permission change is itself delivered under the new permissions.
                await ReauthorizeRoomAsync(guildId).ConfigureAwait(false);
            }

            _runFrames.Clear();
            _joining.TryGetValue(guildId, out var joining);
            var j = i;
            do
            {
                var frame = FrameOf(_pending[j]);
                _runFrames.Add(frame);
                RecordForJoins(joining, _pending[j].Position, frame, isRefetch: false);
                j++;
            }
            while (j < count && _runFrames.Count < MaxEventsPerRun &&
                   string.Equals(_pending[j].GuildId, guildId, StringComparison.Ordinal) && !IsPermissionChange(_pending[j].Message) && !_pending[j].Message.IsGap);

            FanOut(guildId, _runFrames);
            i = j;
        }

        _pending.RemoveRange(0, count);
        _runFrames.Clear();
    }

    private void FanOut(string guildId, List<OutboundFrame> frames)
    {
        var members = _rooms.GetMembers(guildId);
        if (frames.Count > 1)
        {
            foreach (var member in members)
            {
                member.Deliver(frames);
            }

            return;
        }

        // With nothing else waiting, idle clients are written to directly from here; with a backlog, frames are
        // queued so the clients' writers drain them in parallel and pack them for batch clients.
        var writeDirectly = _channel.Reader.Count == 0;
        foreach (var member in members)
        {
            member.Deliver(frames[0], writeDirectly);
        }
    }

    /// <summary>The frame of a publication, serialized once: kept on the publication, so replays from the in-memory history reuse it.</summary>
    private OutboundFrame FrameOf(Publication publication)
    {
        if (publication.LocalFrame is OutboundFrame frame)
        {
            return frame;
        }

        var message = publication.Message;
        var position = publication.Position;
        var data = ReadOnlyMemory<byte>.Empty;
        if (message.EventName is not { } eventName)
        {
            frame = OutboundFrame.GuildControl(ServerMessages.Refetch(message.GuildId, position.Epoch, position.Seq), message.GuildId, position.Seq);
        }
        else
        {
            var bytes = EnvelopeSerializer.SerializeEvent(eventName, message.GuildId, message.Data.Span, message.Timestamp, position.Seq, position.Epoch, out var offset);
            frame = OutboundFrame.Event(bytes, message.GuildId, eventName, position.Seq, _traits.IsLatestValue(eventName), _traits.CategoryOf(eventName), message.Timestamp);
            data = bytes.AsMemory(offset, message.Data.Length);
        }

        publication.KeepFrame(frame, data);
        return frame;
    }

    private async ValueTask JoinAsync(JoinWork join)
    {
        try
        {
            var guildId = join.GuildId;
            var current = join.Subscriber.User;
            if (current is not null && !ReferenceEquals(current, join.User) && string.Equals(current.UserId, join.User.UserId, StringComparison.Ordinal))
            {
                // The same user renewed the session meanwhile: the subscription is checked against the new session.
                join.User = current;
                await RecheckAsync(join).ConfigureAwait(false);
            }
            else if (join.AccessVersion != AccessVersion)
            {
                // Permissions changed between the access check and now: check again, or a revocation
                // that ran before this client joined the room would miss it.
                await RecheckAsync(join).ConfigureAwait(false);
            }

            if (!join.Access.CanOpen)
            {
                join.Subscriber.RefuseJoin(guildId);
                join.Completion.TrySetResult(false);
                return;
            }

            var subscribing = Watch(guildId);
            if (subscribing.IsCompletedSuccessfully)
            {
                var reading = _broker.ReadSinceAsync(guildId, join.Since, CancellationToken.None);

                // Only a broker that delivers on the loop may be answered at once: another may have publications up
                // to the answered position still queued here, which must reach the room before the client joins it.
                if (reading.IsCompletedSuccessfully && _inline)
                {
                    // The in-memory broker: read, replay and join between two fan-outs, on the loop.
                    await CompleteJoinAsync(join, reading.Result, null).ConfigureAwait(false);
                    return;
                }

                BeginJoin(join, subscribing, reading.AsTask());
                return;
            }

            BeginJoin(join, subscribing, null);
        }
        catch (Exception ex)
        {
            join.Completion.TrySetException(ex);
        }
    }

    /// <summary>
    /// A broker that answers asynchronously (Redis): the subscription and the history read complete off the loop, so a
    /// slow or unreachable broker never holds up other guilds. What the loop fans out to the guild meanwhile is recorded
    /// and added to the replay when the answer comes back (<see cref="JoinReadyAsync"/>): the broker hands every
    /// publication up to the position it answers with to the loop before it answers, so nothing falls between the two.
    /// </summary>
    private void BeginJoin(JoinWork join, Task subscribing, Task<HistoryResult>? reading)
    {
        var flight = new JoinInFlight(join, AccessVersion);
        if (!_joining.TryGetValue(join.GuildId, out var list))
        {
            _joining[join.GuildId] = list = [];
        }

        list.Add(flight);
        _ = ReadOffLoopAsync(flight, subscribing, reading);
    }

    private async Task ReadOffLoopAsync(JoinInFlight flight, Task subscribing, Task<HistoryResult>? reading)
    {
        var join = flight.Join;
        try
        {
            await subscribing.ConfigureAwait(false);
            flight.History = await (reading ?? _broker.ReadSinceAsync(join.GuildId, join.Since, CancellationToken.None).AsTask()).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            flight.Error = ex;
        }

        try
        {
            await _channel.Writer.WriteAsync(DispatchItem.Of(new JoinReadyWork(flight)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            join.Completion.TrySetResult(false); // the server is stopping
        }
    }

    private async ValueTask JoinReadyAsync(JoinInFlight flight)
    {
        var join = flight.Join;
        var guildId = join.GuildId;
        if (_joining.TryGetValue(guildId, out var list))
        {
            list.Remove(flight);
            if (list.Count == 0)
            {
                _joining.Remove(guildId);
            }
        }

        if (flight.History is not { } history)
        {
            if (_watched.TryGetValue(guildId, out var subscribing) && subscribing.IsFaulted && _rooms.GetMembers(guildId).Length == 0 && !_joining.ContainsKey(guildId))
            {
                // The next subscriber asks the broker again; this subscription is balanced in the broker's count.
                _watched.Remove(guildId);
                _ = ObserveAsync(_broker.UnsubscribeAsync(guildId, CancellationToken.None).AsTask(), guildId);
            }

            join.Completion.TrySetException(flight.Error ?? new InvalidOperationException("The broker gave no answer."));
            await UnwatchIfEmptyAsync(guildId).ConfigureAwait(false);
            return;
        }

        // Permissions changed, or the session was renewed, while the answer was on its way: check again.
        var current = join.Subscriber.User;
        if (flight.AccessVersion != AccessVersion ||
            (current is not null && !ReferenceEquals(current, join.User) && string.Equals(current.UserId, join.User.UserId, StringComparison.Ordinal)))
        {
            if (current is not null && string.Equals(current.UserId, join.User.UserId, StringComparison.Ordinal))
            {
                join.User = current; // renewed by the same user; another user's session is refused by CompleteJoin
            }

            await RecheckAsync(join).ConfigureAwait(false);
            if (!join.Access.CanOpen)
            {
                join.Subscriber.RefuseJoin(guildId);
                join.Completion.TrySetResult(false);
                await UnwatchIfEmptyAsync(guildId).ConfigureAwait(false);
                return;
            }
        }

        // Fanned out while the answer was on its way: the events after the answered position (the client joins
        // the room only now), a refetch signal, and after a refetch for another epoch everything that followed it.
        List<OutboundFrame>? missed = null;
        var afterReset = false;
        foreach (var (position, frame, isRefetch) in flight.Missed)
        {
            var sameEpoch = string.Equals(position.Epoch, history.Current.Epoch, StringComparison.Ordinal);
            if ((sameEpoch && position.Seq > history.Current.Seq) || (isRefetch && !sameEpoch) || afterReset)
            {
                afterReset |= isRefetch && !sameEpoch;
                (missed ??= []).Add(frame);
            }
        }

        await CompleteJoinAsync(join, history, missed).ConfigureAwait(false);
    }

    private async ValueTask CompleteJoinAsync(JoinWork join, HistoryResult history, List<OutboundFrame>? missed)
    {
        var guildId = join.GuildId;
        if (history.Recovered is { } recovered)
        {
            _metrics.Recoveries.Add(1, new KeyValuePair<string, object?>("outcome", recovered ? "recovered" : "refetch"));
        }

        OutboundFrame[] replay;
        if (missed is null)
        {
            replay = history.Publications.Count == 0 ? [] : history.Publications.Select(FrameOf).ToArray();
        }
        else
        {
            replay = [.. history.Publications.Select(FrameOf), .. missed];
        }

        var subscribed = ServerMessages.Subscribed(guildId, history.Current.Epoch, history.Current.Seq, history.Recovered);
        var joined = join.Subscriber.CompleteJoin(join.User, join.Access, guildId, subscribed, replay);
        join.Completion.TrySetResult(joined);
        if (!joined)
        {
            await UnwatchIfEmptyAsync(guildId).ConfigureAwait(false);
        }
    }

    /// <summary>Asks the broker for the guild's publications once, when its first local subscriber comes.</summary>
    private Task Watch(string guildId)
    {
        if (_watched.TryGetValue(guildId, out var subscribing))
        {
            return subscribing;
        }

        var pending = _broker.SubscribeAsync(guildId, CancellationToken.None);
        subscribing = pending.IsCompletedSuccessfully ? Task.CompletedTask : pending.AsTask();
        _watched[guildId] = subscribing;
        return subscribing;
    }

    private async Task RecheckAsync(JoinWork join)
    {
        try
        {
            join.Access = await _accessPolicy.GetAccessAsync(join.User, join.GuildId, CancellationToken.None)
                .AsTask().WaitAsync(_options.AccessCheckTimeout, _time).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.DispatchFailed(_logger, ex, "subscribe", join.GuildId);
            join.Access = GuildAccess.None;
        }
    }

    private async Task ReauthorizeRoomAsync(string guildId)
    {
        Interlocked.Increment(ref _accessVersion);
        try
        {
            _accessPolicy.Invalidate(guildId);
            var members = _rooms.GetMembers(guildId);
            if (members.Length > 0)
            {
                // Bounded: a hung policy must not stall every guild's events. Checks still running afterwards
                // apply when they finish; events in between use the previous permissions (logged).
                await Task.WhenAll(members.Select(m => m.ReauthorizeAsync(guildId)))
                    .WaitAsync(_options.AccessCheckTimeout, _time).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.DispatchFailed(_logger, ex, LiveEvents.Dashboard.PermissionsUpdated, guildId);
        }
    }

    private async ValueTask HandleNoticesAsync()
    {
        Volatile.Write(ref _noticesPending, 0);
        foreach (var guildId in _dropped.Keys)
        {
            if (_dropped.TryRemove(guildId, out _))
            {
                // A broadcast of this guild was lost before it got a position: the gap takes one, so that clients
                // live now refetch and clients that reconnect from before it are told to refetch instead of recovering.
                Publish(BrokerMessage.Gap(guildId, _time.GetUtcNow().ToUnixTimeMilliseconds()));
            }
        }

        if (_pending.Count > 0)
        {
            await FanOutPendingAsync().ConfigureAwait(false);
        }

        foreach (var guildId in _lost.Keys)
        {
            if (_lost.TryRemove(guildId, out var position))
            {
                await SignalRefetchAsync(guildId, position).ConfigureAwait(false);
            }
        }

        while (_emptied.TryDequeue(out var guildId))
        {
            await UnwatchIfEmptyAsync(guildId).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The guild's subscribers here lost publications up to <paramref name="position"/>: its room's access is re-checked
    /// first (what was lost may have been a permission change), then every subscriber is told to refetch.
    /// </summary>
    private async ValueTask SignalRefetchAsync(string guildId, StreamPosition position)
    {
        await ReauthorizeRoomAsync(guildId).ConfigureAwait(false);
        Log.StreamLost(_logger, guildId, position.Seq);
        _runFrames.Clear();
        var frame = OutboundFrame.GuildControl(ServerMessages.Refetch(guildId, position.Epoch, position.Seq), guildId, position.Seq);
        _runFrames.Add(frame);
        _joining.TryGetValue(guildId, out var joining);
        RecordForJoins(joining, position, frame, isRefetch: true);
        FanOut(guildId, _runFrames);
        _runFrames.Clear();
    }

    /// <summary>Something fanned out to a guild while joins of it wait for the broker: they get it with their replay (see <see cref="JoinReadyAsync"/>).</summary>
    private static void RecordForJoins(List<JoinInFlight>? joining, StreamPosition position, OutboundFrame frame, bool isRefetch)
    {
        if (joining is null)
        {
            return;
        }

        foreach (var flight in joining)
        {
            flight.Missed.Add((position, frame, isRefetch));
        }
    }

    private ValueTask UnwatchIfEmptyAsync(string guildId)
    {
        if (_rooms.GetMembers(guildId).Length == 0 && !_joining.ContainsKey(guildId) && _watched.Remove(guildId, out var subscribing))
        {
            if (!subscribing.IsCompleted)
            {
                _ = UnwatchAfterAsync(guildId, subscribing); // a broker still subscribing: unsubscribe once it has
                return ValueTask.CompletedTask;
            }

            var unsubscribing = _broker.UnsubscribeAsync(guildId, CancellationToken.None);
            if (!unsubscribing.IsCompletedSuccessfully)
            {
                _ = ObserveAsync(unsubscribing.AsTask(), guildId); // off the loop: a slow broker holds up nobody
            }
        }

        return ValueTask.CompletedTask;
    }

    private async Task UnwatchAfterAsync(string guildId, Task subscribing)
    {
        try
        {
            await subscribing.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // it never subscribed: unsubscribing balances the broker's count all the same
        }

        await ObserveAsync(_broker.UnsubscribeAsync(guildId, CancellationToken.None).AsTask(), guildId).ConfigureAwait(false);
    }

    private async Task ObserveAsync(Task task, string guildId)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.DispatchFailed(_logger, ex, "unsubscribe", guildId);
        }
    }

    /// <summary>Logs a dropped broadcast: the first at once, then at most one line a second with the count, so a burst into a full queue cannot flood the log.</summary>
    private void LogDrop(BrokerMessage message)
    {
        if (_dropLog.Count(out var dropped))
        {
            Log.DispatchQueueFull(_logger, _options.DispatchQueueCapacity, dropped, message.EventName!, message.GuildId);
        }
    }

    private void LostLocally(string guildId, StreamPosition position)
    {
        _lost[guildId] = position;
        Notify();
    }

    private void Notify()
    {
        Volatile.Write(ref _noticesPending, 1);
        _channel.Writer.TryWrite(DispatchItem.Of(WakeWork.Instance)); // a full queue is being drained anyway
    }

    private static bool IsPermissionChange(in BrokerMessage message) =>
        string.Equals(message.EventName, LiveEvents.Dashboard.PermissionsUpdated, StringComparison.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(12, LogLevel.Error, "The dispatch queue is full ({Capacity}): {Dropped} broadcast(s) dropped since the last report, the latest {EventName} for guild {GuildId}; their guilds' subscribers are told to refetch")]
        public static partial void DispatchQueueFull(ILogger logger, int capacity, long dropped, string eventName, string guildId);

        [LoggerMessage(18, LogLevel.Error, "The dispatcher failed on {EventName} for guild {GuildId}")]
        public static partial void DispatchFailed(ILogger logger, Exception exception, string eventName, string guildId);

        [LoggerMessage(20, LogLevel.Error, "The broker failed to publish {Count} broadcast(s) since the last report, the latest {EventName} for guild {GuildId}")]
        public static partial void PublishFailed(ILogger logger, Exception exception, long count, string eventName, string guildId);

        [LoggerMessage(21, LogLevel.Warning, "Guild {GuildId} lost events up to seq {Seq} on this server; its subscribers were told to refetch")]
        public static partial void StreamLost(ILogger logger, string guildId, long seq);
    }
}
