using System.Buffers.Text;
using System.Security.Cryptography;
using System.Threading.Channels;
using LiveUpdates.Backplane;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Internal.Protocol;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// Fans broadcasts out to the guild rooms on one background loop. The single reader gives every guild's events
/// their sequence numbers in broadcast order, keeps each guild's bounded history, and serves subscriptions
/// between two broadcasts, which is what makes recovery exact. The per-recipient work is one enqueue of the
/// shared frame: never a serialization or a send.
/// </summary>
internal sealed class EventDispatcher
{
    /// <summary>
    /// At most this many broadcasts to one guild, waiting one behind the other, are fanned out together. A tuning
    /// bound, not a limit anyone sees: it caps the dispatcher's scratch list and how long one guild's run holds
    /// the loop before the next item.
    /// </summary>
    private const int MaxEventsPerRun = 64;

    private readonly Channel<DispatchItem> _channel;
    private readonly RoomStore _rooms;
    private readonly LiveUpdatesOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LiveUpdatesMetrics _metrics;
    private readonly Dictionary<string, GuildStream> _streams = new(StringComparer.Ordinal);
    private readonly string[] _latestValueSuffixes;
    private readonly List<OutboundFrame> _replay = [];
    private readonly List<BackplaneMessage> _run = [];
    private readonly List<OutboundFrame> _runFrames = [];
    private readonly IGuildAccessPolicy _accessPolicy;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _categoryByPlugin;
    private long _dispatched;
    private long _accessVersion;

    public EventDispatcher(LiveUpdatesOptions options, RoomStore rooms, IGuildAccessPolicy accessPolicy, TimeProvider time, ILogger logger, LiveUpdatesMetrics metrics)
    {
        _options = options;
        _rooms = rooms;
        _accessPolicy = accessPolicy;
        _time = time;
        _logger = logger;
        _metrics = metrics;

        // Event plugin → permission category: a registered category of the same name, unless mapped otherwise.
        var categoryByPlugin = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var category in options.PermissionCategories.Keys)
        {
            categoryByPlugin[category] = category;
        }

        foreach (var (plugin, category) in options.EventCategories)
        {
            if (options.PermissionCategories.ContainsKey(category))
            {
                categoryByPlugin[plugin] = category;
            }
            else
            {
                categoryByPlugin.Remove(plugin);
            }
        }

        _categoryByPlugin = categoryByPlugin.GetAlternateLookup<ReadOnlySpan<char>>();
        _latestValueSuffixes = [.. options.LatestValueActions.Select(a => ":" + a)];
        Epoch = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));
        _channel = Channel.CreateBounded<DispatchItem>(new BoundedChannelOptions(options.DispatchQueueCapacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then reports "full" instead of dropping silently.
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Gets this server's stream epoch: it changes whenever history is lost, i.e. with every server start.</summary>
    public string Epoch { get; }

    /// <summary>Gets a number that grows with every permission re-check, so a subscription resolved before one can tell.</summary>
    public long AccessVersion => Interlocked.Read(ref _accessVersion);

    /// <summary>Gets how many broadcasts have been fanned out.</summary>
    public long Dispatched => Interlocked.Read(ref _dispatched);

    /// <summary>Queues a message for fan-out. Never blocks; a full queue drops the message and logs it.</summary>
    public void Post(in BackplaneMessage message)
    {
        if (!_channel.Writer.TryWrite(new DispatchItem(message, null, null, null)))
        {
            _metrics.EventsDropped.Add(1);
            Log.DispatchQueueFull(_logger, _options.DispatchQueueCapacity, message.EventName, message.GuildId);
        }
    }

    /// <summary>
    /// Queues a subscription; the task says whether the connection joined. Unlike a broadcast, a subscription
    /// waits for room in a full dispatch queue (only its own client waits), until <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task<bool> JoinAsync(JoinRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(new DispatchItem(default, request, null, null), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            return false; // the server is stopping
        }

        return await request.Completion.Task.ConfigureAwait(false);
    }

    /// <summary>Completes when every message posted before the call has been fanned out.</summary>
    public Task FlushAsync()
    {
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite(new DispatchItem(default, null, barrier, null)))
        {
            barrier.TrySetException(new InvalidOperationException("The dispatch queue is full or completed."));
        }

        return barrier.Task;
    }

    /// <summary>
    /// Re-resolves every open subscription of <paramref name="guildId"/> (after its permissions changed) before
    /// anything broadcast later is fanned out. Waits for room in a full queue.
    /// </summary>
    public async Task ReauthorizeAsync(string guildId, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _channel.Writer.WriteAsync(new DispatchItem(default, null, done, guildId), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            return; // stopping: no connection is left to re-resolve
        }

        await done.Task.ConfigureAwait(false);
    }

    public void Complete() => _channel.Writer.TryComplete();

    public async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (true)
        {
            var wait = reader.WaitToReadAsync();
            if (!wait.IsCompleted)
            {
                if (!await wait.ConfigureAwait(false))
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

            while (reader.TryRead(out var item))
            {
                if (item.Reauthorize is not null)
                {
                    await ReauthorizeRoomAsync(item.Reauthorize).ConfigureAwait(false);
                    item.Barrier?.TrySetResult();
                }
                else if (item.Barrier is not null)
                {
                    item.Barrier.TrySetResult();
                }
                else if (item.Join is not null)
                {
                    if (item.Join.AccessVersion != AccessVersion)
                    {
                        // Permissions changed between the access check and now: check again, or a revocation
                        // that ran before this client joined the room would miss it.
                        await RecheckAsync(item.Join).ConfigureAwait(false);
                    }

                    Join(item.Join);
                }
                else
                {
                    if (string.Equals(item.Message.EventName, LiveEvents.Dashboard.PermissionsUpdated, StringComparison.Ordinal))
                    {
                        // The announcement of a permission change is itself delivered under the new permissions.
                        await ReauthorizeRoomAsync(item.Message.GuildId).ConfigureAwait(false);
                    }

                    // A burst to one guild: the broadcasts to the same guild waiting right behind this one (nothing
                    // else is overtaken, so every ordering guarantee holds) are fanned out together. Each recipient's
                    // lock is taken once for the run instead of once per event, and its writer finds the whole run
                    // queued: one frame for a batch client, one wake-up for any client.
                    _run.Clear();
                    _run.Add(item.Message);
                    while (_run.Count < MaxEventsPerRun && reader.TryPeek(out var next) && IsPlainEventFor(next, item.Message.GuildId) && reader.TryRead(out next))
                    {
                        _run.Add(next.Message);
                    }

                    try
                    {
                        FanOut(_run);
                    }
                    catch (Exception ex)
                    {
                        Log.DispatchFailed(_logger, ex, item.Message.EventName, item.Message.GuildId);
                    }

                    Interlocked.Add(ref _dispatched, _run.Count);
                    _run.Clear();
                }
            }
        }

        // Subscriptions still waiting when the server stopped are refused rather than left hanging.
        while (reader.TryRead(out var item))
        {
            item.Join?.Completion.TrySetResult(false);
            item.Barrier?.TrySetResult();
        }
    }

    /// <summary>Numbers, serializes and records a run of broadcasts to one guild, then hands them to every member.</summary>
    private void FanOut(List<BackplaneMessage> run)
    {
        var guildId = run[0].GuildId;
        var stream = GetStream(guildId);
        var now = _time.GetTimestamp();
        stream.Prune(now, _options.HistoryMaxAge, _time);
        _runFrames.Clear();
        foreach (var message in run)
        {
            var seq = stream.NextSeq();
            var bytes = EnvelopeSerializer.SerializeEvent(message.EventName, guildId, message.Data.Span, message.Timestamp, seq, Epoch);
            var frame = OutboundFrame.Event(bytes, guildId, message.EventName, seq, IsLatestValue(message.EventName), CategoryOf(message.EventName));
            stream.Append(frame, now);
            _runFrames.Add(frame);
        }

        var members = _rooms.GetMembers(guildId);
        if (_runFrames.Count > 1)
        {
            foreach (var connection in members)
            {
                connection.EnqueueEvents(_runFrames);
            }
        }
        else
        {
            // With nothing else waiting, idle clients are written to directly from here (see EnqueueEvent); with a
            // backlog, frames are queued so the clients' writers drain them in parallel and pack them for batch clients.
            var writeDirectly = _channel.Reader.Count == 0;
            foreach (var connection in members)
            {
                connection.EnqueueEvent(_runFrames[0], writeDirectly);
            }
        }

        _runFrames.Clear();
    }

    private static bool IsPlainEventFor(in DispatchItem item, string guildId) =>
        item.Join is null && item.Barrier is null && item.Reauthorize is null &&
        string.Equals(item.Message.GuildId, guildId, StringComparison.Ordinal) &&
        !string.Equals(item.Message.EventName, LiveEvents.Dashboard.PermissionsUpdated, StringComparison.Ordinal);

    private void Join(JoinRequest request)
    {
        try
        {
            var stream = _streams.GetValueOrDefault(request.GuildId);
            var currentSeq = stream?.LastSeq ?? 0;
            bool? recovered = null;
            _replay.Clear();
            if (request.LastSeq is { } lastSeq)
            {
                recovered = TryRecover(stream, lastSeq, request.Epoch);
                _metrics.Recoveries.Add(1, new KeyValuePair<string, object?>("outcome", recovered.Value ? "recovered" : "refetch"));
            }

            if (!request.Access.CanOpen)
            {
                request.Completion.TrySetResult(request.Connection.RefuseJoin(request.GuildId));
                return;
            }

            var subscribed = ServerMessages.Subscribed(request.GuildId, Epoch, currentSeq, recovered);
            request.Completion.TrySetResult(request.Connection.CompleteJoin(request.User, request.Access, request.GuildId, subscribed, _replay));
        }
        catch (Exception ex)
        {
            request.Completion.TrySetException(ex);
        }
        finally
        {
            _replay.Clear();
        }
    }

    private bool TryRecover(GuildStream? stream, long lastSeq, string? epoch)
    {
        if (!string.Equals(epoch, Epoch, StringComparison.Ordinal))
        {
            return false; // another server, or this one before a restart: its history is gone
        }

        if (stream is null)
        {
            return lastSeq == 0;
        }

        stream.Prune(_time.GetTimestamp(), _options.HistoryMaxAge, _time);
        if (!stream.TryGetSince(lastSeq, _replay))
        {
            _replay.Clear();
            return false;
        }

        return true;
    }

    private async Task RecheckAsync(JoinRequest request)
    {
        try
        {
            request.Access = await _accessPolicy.GetAccessAsync(request.User, request.GuildId, CancellationToken.None)
                .AsTask().WaitAsync(_options.AccessCheckTimeout, _time).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            Log.DispatchFailed(_logger, ex, "subscribe", request.GuildId);
            request.Access = GuildAccess.None;
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

    private string? CategoryOf(string eventName)
    {
        var plugin = eventName.AsSpan(0, eventName.IndexOf(':', StringComparison.Ordinal));
        return _categoryByPlugin.TryGetValue(plugin, out var category) ? category : null;
    }

    private GuildStream GetStream(string guildId)
    {
        if (!_streams.TryGetValue(guildId, out var stream))
        {
            stream = new GuildStream(_options.HistoryCapacity);
            _streams.Add(guildId, stream);
        }

        return stream;
    }

    private bool IsLatestValue(string eventName)
    {
        foreach (var suffix in _latestValueSuffixes)
        {
            if (eventName.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private readonly record struct DispatchItem(BackplaneMessage Message, JoinRequest? Join, TaskCompletionSource? Barrier, string? Reauthorize);
}
