using LiveUpdates.Brokers;
using LiveUpdates.Internal.Subscriptions;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Which guilds this instance asked the broker for: subscribed once when a guild's first local subscriber comes, and
/// unsubscribed once its room is empty and no join of it is in flight. Called on the dispatch loop only; unsubscribes
/// that must wait for the broker run off the loop.
/// </summary>
internal sealed class BrokerWatches(IBroker broker, RoomStore rooms, Func<string, bool> isJoining, ILogger logger)
{
    // Guild → the broker's subscription task (completed at once for a broker that answers synchronously).
    private readonly Dictionary<string, Task> _watched = new(StringComparer.Ordinal);

    /// <summary>Gets the broker's subscription to <paramref name="guildId"/>, asking for it if this is the first.</summary>
    public Task Watch(string guildId)
    {
        if (_watched.TryGetValue(guildId, out var subscribing))
        {
            return subscribing;
        }

        var pending = broker.SubscribeAsync(guildId, CancellationToken.None);
        subscribing = pending.IsCompletedSuccessfully ? Task.CompletedTask : pending.AsTask();
        _watched[guildId] = subscribing;
        return subscribing;
    }

    /// <summary>Tells the broker this instance no longer needs <paramref name="guildId"/>, if its room is empty and no join of it is in flight.</summary>
    public void ReleaseIfUnused(string guildId)
    {
        if (!IsUnused(guildId) || !_watched.Remove(guildId, out var subscribing))
        {
            return;
        }

        if (!subscribing.IsCompleted)
        {
            _ = UnwatchAfterAsync(guildId, subscribing); // a broker still subscribing: unsubscribe once it has
            return;
        }

        var unsubscribing = broker.UnsubscribeAsync(guildId, CancellationToken.None);
        if (!unsubscribing.IsCompletedSuccessfully)
        {
            _ = ObserveAsync(unsubscribing.AsTask(), guildId); // off the loop: a slow broker holds up nobody
        }
    }

    private bool IsUnused(string guildId) => rooms.GetMembers(guildId).Length == 0 && !isJoining(guildId);

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

        await ObserveAsync(broker.UnsubscribeAsync(guildId, CancellationToken.None).AsTask(), guildId).ConfigureAwait(false);
    }

    private async Task ObserveAsync(Task task, string guildId)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            DispatchLog.DispatchFailed(logger, ex, "unsubscribe", guildId);
        }
    }
}
