using System.Threading.Channels;
using LiveUpdates.Brokers;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Hands broadcasts to the broker in the order they were made, a run of one guild's waiting broadcasts at a time, and
/// observes publishes that fail (the broker accounts for them with a gap; here they are counted and logged at most
/// once a second). Called on the dispatch loop only, which is what keeps one instance's broadcasts in order.
/// </summary>
internal sealed class Publisher(IBroker broker, LiveUpdatesMetrics metrics, TimeProvider time, ILogger logger)
{
    private readonly LogThrottle _failureLog = new(time);

    /// <summary>
    /// Publishes a broadcast and the broadcasts to the same guild waiting right behind it (nothing else is overtaken,
    /// so every ordering guarantee holds). Fanned out together, each recipient's lock is taken once for the run, and
    /// its writer finds the whole run queued: one frame for a batch client, one wake-up for any client.
    /// </summary>
    public void PublishRun(DispatchItem first, ChannelReader<DispatchItem> reader)
    {
        Publish(first.Message, first.Work as BroadcastConfirmation);
        if (FanOut.IsPermissionChange(first.Message))
        {
            return; // fanned out after the room's re-check, alone
        }

        var count = 1;
        while (count < FanOut.MaxRun && reader.TryPeek(out var next) && next.IsBroadcast &&
               string.Equals(next.Message.GuildId, first.Message.GuildId, StringComparison.Ordinal) &&
               !FanOut.IsPermissionChange(next.Message) && reader.TryRead(out next))
        {
            Publish(next.Message, next.Work as BroadcastConfirmation);
            count++;
        }
    }

    /// <summary>
    /// A broadcast of <paramref name="guildId"/> was lost before it got a position: a gap takes one, so that clients
    /// live now refetch and clients that reconnect from before it are told to refetch instead of recovering.
    /// </summary>
    public void PublishGap(string guildId) => Publish(BrokerMessage.Gap(guildId, time.GetUtcNow().ToUnixTimeMilliseconds()));

    private void Publish(BrokerMessage message, BroadcastConfirmation? confirmation = null)
    {
        ValueTask<StreamPosition> publishing;
        try
        {
            publishing = broker.PublishAsync(message, CancellationToken.None);
        }
        catch (Exception ex)
        {
            confirmation?.Completion.TrySetException(ex);
            throw;
        }

        if (!publishing.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(publishing, message, confirmation);
        }
        else if (confirmation is not null)
        {
            confirmation.Completion.TrySetResult(publishing.Result);
        }
    }

    private async Task ObserveAsync(ValueTask<StreamPosition> publishing, BrokerMessage message, BroadcastConfirmation? confirmation)
    {
        try
        {
            var position = await publishing.ConfigureAwait(false);
            confirmation?.Completion.TrySetResult(position);
        }
        catch (Exception ex)
        {
            confirmation?.Completion.TrySetException(ex);
            // The broker accounts for it (a gap in the guild's stream); logged at most once a second with the count.
            metrics.EventsDropped.Add(1);
            if (_failureLog.Count(out var failures))
            {
                DispatchLog.PublishFailed(logger, ex, failures, message.EventName ?? "gap", message.GuildId);
            }
        }
    }
}
