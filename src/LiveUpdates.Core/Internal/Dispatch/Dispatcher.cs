using System.Collections.Concurrent;
using System.Threading.Channels;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// The one loop between broadcasters, the broker and the guild rooms: its queue, its lag and health figures, and the
/// notices kept outside the queue. Every item is handled by a collaborator confined to the loop — the
/// <see cref="Publisher"/> (broadcasts to the broker, in order), the <see cref="FanOut"/> (publications to the rooms),
/// the <see cref="JoinCoordinator"/> (subscriptions between two fan-outs), the <see cref="BrokerWatches"/> (which
/// guilds the broker delivers here), the <see cref="AccessGate"/> (who may see what) and the <see cref="RoomRechecks"/>
/// (room re-checks off the loop, holding only their guild, so the stream order holds per guild). Its public
/// members are thread-safe; everything it hands to the collaborators runs on the loop, one item at a time.
/// </summary>
/// <remarks>
/// <para>
/// A broker that delivers inline (<see cref="BrokerCapabilities.InlineDelivery"/>) hands a publication over from inside
/// the publishing call, which the loop makes, so it is fanned out right after the publishing run; one that delivers
/// from its own threads has it queued here as a <see cref="DeliverWork"/>. Nothing is dropped silently: a broadcast
/// that finds the queue full is recorded as a gap in its guild's stream, and a publication that cannot be queued makes
/// the guild's local subscribers refetch.
/// </para>
/// <para>
/// Why it is long (~470 lines): it owns the loop and every entry point onto it — broadcasts with their confirmations,
/// joins, flushes, re-authorizations, the broker's deliveries (taken in runs) and the control stream — and each entry
/// point is small; what each item does lives in the collaborators above. The next split, when it grows, is the
/// broker-facing half (<see cref="IBrokerHandler"/> and the run taking) into a class of its own.
/// </para>
/// </remarks>
internal sealed class Dispatcher : IBrokerHandler
{
    private readonly Channel<DispatchItem> _channel;
    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LiveUpdatesMetrics _metrics;
    private readonly bool _inlineDelivery;
    private readonly AccessGate _access;
    private readonly BrokerWatches _watches;
    private readonly JoinCoordinator _joins;
    private readonly FanOut _fanOut;
    private readonly RoomRechecks _rechecks;
    private readonly Publisher _publisher;
    private readonly LogThrottle _dropLog;

    // Notices kept outside the bounded queue, so that they cannot be lost when it is full; handled after each item.
    private readonly ConcurrentDictionary<string, byte> _dropped = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, StreamPosition> _lost = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _emptied = new();
    private int _noticesPending;
    private long _lastProgressAt;
    private bool _asleep; // waiting for work: lag then counts from the broadcast that woke it, not from the last progress
    private long _wokenAt;

    public Dispatcher(LiveUpdatesOptions options, RoomStore rooms, IBroker broker, IGuildAccessPolicy accessPolicy, TimeProvider time, ILogger<Dispatcher> logger, LiveUpdatesMetrics metrics, CancellationToken stopping)
    {
        _options = options;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _dropLog = new LogThrottle(time);
        _channel = Channel.CreateBounded<DispatchItem>(new BoundedChannelOptions(options.DispatchQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then reports "full" instead of dropping silently.
            AllowSynchronousContinuations = false,
        });

        // Read once: the broker's promise decides the dispatch path (never its type).
        _inlineDelivery = (broker.Capabilities & BrokerCapabilities.InlineDelivery) != 0;
        var frames = new PublicationFrames(new EventTraits(options));
        _access = new AccessGate(accessPolicy, rooms, options, time, logger, stopping);
        _watches = new BrokerWatches(broker, rooms, guildId => _joins!.IsJoining(guildId), logger);
        _joins = new JoinCoordinator(broker, _inlineDelivery, _watches, _access, frames, metrics, _channel.Writer);
        _rechecks = new RoomRechecks(_access, _channel.Writer);
        _fanOut = new FanOut(rooms, frames, _rechecks, _joins, () => _channel.Reader.Count > 0, logger);
        _publisher = new Publisher(broker, metrics, time, logger);
    }

    /// <summary>Gets how many items wait in the dispatch queue.</summary>
    public int QueueLength => _channel.Reader.Count;

    /// <summary>Gets how long items have waited without the loop making progress (zero when nothing waits).</summary>
    public TimeSpan Lag => _channel.Reader.Count == 0 ? TimeSpan.Zero
        : _time.GetElapsedTime(Volatile.Read(ref _asleep) ? Math.Max(Volatile.Read(ref _lastProgressAt), Volatile.Read(ref _wokenAt)) : Volatile.Read(ref _lastProgressAt));

    /// <summary>Gets the access gate: its version is read before a subscription's access is resolved, and a renewed session re-checks through it.</summary>
    public AccessGate Access => _access;

    /// <summary>
    /// Gets or sets what receives the publications of the <see cref="ControlStream"/> (set once, before the broker
    /// starts); they go to the server, never to a room. Called on the broker's thread: it must not block.
    /// </summary>
    public Action<BrokerMessage>? ControlReceived { get; set; }

    /// <summary>
    /// Queues a broadcast. Never blocks; a full queue records a gap in the guild's stream (and logs it), and fails
    /// <paramref name="confirmation"/>, which otherwise completes once the broker has numbered the event.
    /// </summary>
    public void Post(BrokerMessage message, BroadcastConfirmation? confirmation = null)
    {
        if (Volatile.Read(ref _asleep))
        {
            Volatile.Write(ref _wokenAt, _time.GetTimestamp()); // only when the loop sleeps: not on every broadcast of a burst
        }

        if (!_channel.Writer.TryWrite(DispatchItem.Broadcast(message, confirmation)))
        {
            confirmation?.Completion.TrySetException(new InvalidOperationException(
                $"The dispatch queue is full (LiveUpdates:DispatchQueueCapacity = {_options.DispatchQueueCapacity}): the event was not published; a gap takes its place in guild {message.GuildId}'s stream."));
            _metrics.EventsDropped.Add(1);
            if (_dropLog.Count(out var dropped))
            {
                DispatchLog.DispatchQueueFull(_logger, _options.DispatchQueueCapacity, dropped, message.EventName!, message.GuildId);
            }

            _dropped.TryAdd(message.GuildId, 0);
            Notify();
        }
    }

    /// <summary>
    /// Queues a subscription and waits for it; the task says whether the subscriber joined. Unlike a broadcast, a
    /// subscription waits for room in a full queue (only its own client waits), until <paramref name="cancellationToken"/>.
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

    /// <summary>
    /// Re-resolves the subscriptions of <paramref name="guildId"/> — every one, or only <paramref name="userId"/>'s —
    /// before anything queued later is fanned out. Waits for room in a full queue.
    /// </summary>
    public async Task ReauthorizeAsync(string guildId, string? userId, CancellationToken cancellationToken)
    {
        var work = new ReauthorizeWork(guildId, userId);
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

    /// <summary>Stops taking work; what is queued is answered when the loop ends.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    void IBrokerHandler.OnPublication(Publication publication)
    {
        if (string.Equals(publication.GuildId, ControlStream.Id, StringComparison.Ordinal))
        {
            ControlReceived?.Invoke(publication.Message);
            return;
        }

        if (_inlineDelivery)
        {
            _fanOut.Add(publication); // inline: inside the loop's own publishing call
        }
        else if (!_channel.Writer.TryWrite(DispatchItem.Of(new DeliverWork(publication))))
        {
            LostLocally(publication.GuildId, publication.Position);
        }
    }

    void IBrokerHandler.OnStreamLost(string guildId, StreamPosition position)
    {
        if (string.Equals(guildId, ControlStream.Id, StringComparison.Ordinal))
        {
            return; // no room to refetch; a disconnect lost with it is logged by the broker, and sessions end at their exp
        }

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
                    if (item.IsBroadcast)
                    {
                        _publisher.PublishRun(item, reader);
                    }
                    else if (item.Work is DeliverWork deliver)
                    {
                        TakeDeliveries(deliver, reader);
                    }
                    else
                    {
                        await HandleAsync(item.Work!).ConfigureAwait(false);
                    }

                    if (_fanOut.HasPending)
                    {
                        _fanOut.Flush();
                    }

                    if (Volatile.Read(ref _noticesPending) != 0)
                    {
                        HandleNotices();
                    }
                }
                catch (Exception ex)
                {
                    _fanOut.Discard();
                    DispatchLog.DispatchFailed(_logger, ex, item.Message.EventName ?? item.Work?.GetType().Name ?? "work", item.Message.GuildId ?? "-");
                }

                Volatile.Write(ref _lastProgressAt, _time.GetTimestamp());
            }
        }

        // Work still waiting when the server stopped is answered rather than left hanging.
        foreach (var held in _rechecks.DrainAll())
        {
            AnswerUnhandled(held.Work);
        }

        while (reader.TryRead(out var item))
        {
            AnswerUnhandled(item.Work);
        }
    }

    private static void AnswerUnhandled(DispatchWork? work)
    {
        switch (work)
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
            case BroadcastConfirmation confirmation:
                confirmation.Completion.TrySetException(new InvalidOperationException("The server stopped before the event was published."));
                break;
        }
    }

    /// <summary>The guild a piece of work must wait for while its room is re-checked (publications and losses wait in the <see cref="FanOut"/>).</summary>
    private static string? GuildOf(DispatchWork work) => work switch
    {
        JoinWork join => join.GuildId,
        JoinReadyWork ready => ready.Join.Join.GuildId,
        ReauthorizeWork reauthorize => reauthorize.GuildId,
        _ => null,
    };

    private async ValueTask HandleAsync(DispatchWork work)
    {
        if (GuildOf(work) is { } guildId && _rechecks.IsHeld(guildId))
        {
            _rechecks.Defer(guildId, new HeldItem(null, work)); // after what already waits for the guild's re-check
            return;
        }

        switch (work)
        {
            case JoinWork join:
                await _joins.StartAsync(join).ConfigureAwait(false);
                break;
            case JoinReadyWork ready:
                try
                {
                    await _joins.CompleteAsync(ready.Join).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    ready.Join.Join.Completion.TrySetException(ex);
                    throw;
                }

                break;
            case DeliverWork deliver:
                _fanOut.Add(deliver.Publication);
                break;
            case FlushWork flush:
                if (_fanOut.HasPending)
                {
                    _fanOut.Flush();
                }

                _rechecks.CompleteAfterHeld(flush); // what waits for a room re-check was queued before it, too
                break;
            case ReauthorizeWork reauthorize:
                // Off the loop: the guild is held (its later items wait), every other guild keeps flowing.
                _rechecks.Start(reauthorize.GuildId, reauthorize.UserId, new HeldItem(null, reauthorize, Rechecked: true));
                break;
            case StreamLostWork lost:
                _fanOut.SignalRefetch(lost.GuildId, lost.Position);
                break;
            case RecheckDoneWork done:
                await ReleaseAsync(done.GuildId).ConfigureAwait(false);
                break;
            case WakeWork:
                break;
        }
    }

    /// <summary>A guild's room re-check is done: what started it goes out, then what waited for it, in order (which may hold the guild again).</summary>
    private async ValueTask ReleaseAsync(string guildId)
    {
        foreach (var item in _rechecks.Release(guildId))
        {
            if (_rechecks.IsHeld(guildId))
            {
                _rechecks.Defer(guildId, item); // held again by an item before this one
                continue;
            }

            switch (item)
            {
                case { Rechecked: true, Publication: { } publication }:
                    _fanOut.DeliverRechecked(publication);
                    break;
                case { Rechecked: true, Work: StreamLostWork lost }:
                    _fanOut.DeliverRefetch(lost.GuildId, lost.Position);
                    break;
                case { Rechecked: true, Work: ReauthorizeWork reauthorize }:
                    reauthorize.Completion.TrySetResult();
                    break;
                case { Publication: { } publication }:
                    _fanOut.Add(publication); // fanned out in runs, before the next piece of work
                    break;
                case { Work: { } work }:
                    if (_fanOut.HasPending)
                    {
                        _fanOut.Flush();
                    }

                    await HandleAsync(work).ConfigureAwait(false);
                    break;
            }
        }

        if (_fanOut.HasPending)
        {
            _fanOut.Flush();
        }

        _rechecks.Settle(guildId);
    }

    /// <summary>
    /// Takes a publication the broker delivered from its own thread and the deliveries waiting right behind it (nothing
    /// else is overtaken), so that they are fanned out in runs, as the inline path's publishing runs are: one lock and
    /// one wake-up per recipient for a run of one guild, instead of one per publication.
    /// </summary>
    private void TakeDeliveries(DeliverWork first, ChannelReader<DispatchItem> reader)
    {
        _fanOut.Add(first.Publication);
        for (var taken = 1; taken < FanOut.MaxRun && reader.TryPeek(out var next) && next.Work is DeliverWork && reader.TryRead(out next); taken++)
        {
            _fanOut.Add(((DeliverWork)next.Work!).Publication);
        }
    }

    private void HandleNotices()
    {
        Volatile.Write(ref _noticesPending, 0);
        foreach (var guildId in _dropped.Keys)
        {
            if (_dropped.TryRemove(guildId, out _))
            {
                _publisher.PublishGap(guildId);
            }
        }

        if (_fanOut.HasPending)
        {
            _fanOut.Flush();
        }

        foreach (var guildId in _lost.Keys)
        {
            if (_lost.TryRemove(guildId, out var position))
            {
                _fanOut.SignalRefetch(guildId, position);
            }
        }

        while (_emptied.TryDequeue(out var guildId))
        {
            _watches.ReleaseIfUnused(guildId);
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
}
