using System.Runtime.InteropServices;
using System.Threading.Channels;
using LiveUpdates.Backplane;
using LiveUpdates.Internal.Connections;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Delivery;

/// <summary>
/// Fans broadcasts out to the guild rooms on one background loop. A single reader keeps every guild's events
/// in broadcast order; the per-recipient work is one enqueue of the shared frame, never a serialization or a send.
/// </summary>
internal sealed class EventDispatcher
{
    private readonly Channel<DispatchItem> _channel;
    private readonly RoomStore _rooms;
    private readonly ILogger _logger;
    private readonly int _capacity;
    private long _dispatched;
    private long _dropped;

    public EventDispatcher(int capacity, RoomStore rooms, ILogger logger)
    {
        _capacity = capacity;
        _rooms = rooms;
        _logger = logger;
        _channel = Channel.CreateBounded<DispatchItem>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then reports "full" instead of dropping silently.
            AllowSynchronousContinuations = false,
        });
    }

    /// <summary>Gets how many broadcasts have been fanned out.</summary>
    public long Dispatched => Interlocked.Read(ref _dispatched);

    /// <summary>Gets how many broadcasts were dropped because the dispatch queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Queues a message for fan-out. Never blocks; a full queue drops the message and logs it.</summary>
    public void Post(in BackplaneMessage message)
    {
        if (!_channel.Writer.TryWrite(new DispatchItem(message, null)))
        {
            Interlocked.Increment(ref _dropped);
            Log.DispatchQueueFull(_logger, _capacity, message.EventName, message.GuildId);
        }
    }

    /// <summary>Completes when every message posted before the call has been fanned out.</summary>
    public Task FlushAsync()
    {
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_channel.Writer.TryWrite(new DispatchItem(default, barrier)))
        {
            barrier.TrySetException(new InvalidOperationException("The dispatch queue is full or completed."));
        }

        return barrier.Task;
    }

    public void Complete() => _channel.Writer.TryComplete();

    public async Task RunAsync()
    {
        var reader = _channel.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var item))
            {
                if (item.Barrier is not null)
                {
                    item.Barrier.TrySetResult();
                    continue;
                }

                try
                {
                    FanOut(item.Message);
                }
                catch (Exception ex)
                {
                    Log.DispatchFailed(_logger, ex, item.Message.EventName, item.Message.GuildId);
                }

                Interlocked.Increment(ref _dispatched);
            }
        }
    }

    private void FanOut(in BackplaneMessage message)
    {
        var members = _rooms.GetMembers(message.GuildId);
        if (members.Length == 0)
        {
            return;
        }

        var frame = MemoryMarshal.TryGetArray(message.Envelope, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : message.Envelope.ToArray();

        foreach (var connection in members)
        {
            connection.EnqueueEvent(message.GuildId, frame);
        }
    }

    private readonly record struct DispatchItem(BackplaneMessage Message, TaskCompletionSource? Barrier);
}
