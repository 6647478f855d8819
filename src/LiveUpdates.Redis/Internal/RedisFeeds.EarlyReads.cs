using LiveUpdates.Brokers;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

// History reads (recovery) of RedisFeeds while pub/sub is behind in a burst: the read must not hand over from the
// stream ahead of the channel when the stream no longer holds the range (a spurious refetch, the backlog dropped).
internal sealed partial class RedisFeeds
{
    /// <inheritdoc cref="IBroker.ReadSinceAsync"/>
    /// <remarks>
    /// While a healthy feed's pub/sub is behind the stream by more than the stream holds (<see cref="FeedHandOver.PubSubIsBehind"/>),
    /// the reader is answered from what this instance delivered, not from the stream's top: at or behind it, with the
    /// entries up to it (the rest comes live, by pub/sub); ahead of it (it saw more on another instance), once pub/sub
    /// brought the reader's position here — within a <see cref="RedisBrokerOptions.PositionCheckInterval"/>, after which
    /// the stream decides as before (a refetch if it no longer holds the range).
    /// </remarks>
    public async ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(guildId);
        GuildFeed? feed;
        lock (_gate)
        {
            _feeds.TryGetValue(guildId, out feed);
        }

        if (await ReadSinceOnceAsync(guildId, feed, since, mayWait: true, cancellationToken).ConfigureAwait(false) is { } answer)
        {
            return answer;
        }

        // The reader is ahead of this instance: what pub/sub brings from now on reaches the server after this read
        // began, so a reader answered at its own position gets it live (the seam's "after the answered position").
        var wanted = since!.Value;
        if (await WaitDeliveredAsync(feed!, wanted, cancellationToken).ConfigureAwait(false))
        {
            return HistoryResult.FromStream(wanted, since, []);
        }

        return (await ReadSinceOnceAsync(guildId, feed, since, mayWait: false, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Under the feed's gate, after a read: whether the read leaves to pub/sub what the stream is ahead by
    /// (<see cref="FeedHandOver.PubSubIsBehind"/>), with the reader's <paramref name="answer"/> (<see langword="null"/>: wait
    /// for pub/sub to bring the reader's position first).
    /// </summary>
    private bool LeavesToPubSub(string guildId, GuildFeed feed, StreamRead read, StreamPosition? since, bool mayWait, out HistoryResult? answer)
    {
        answer = null;
        if (!FeedHandOver.PubSubIsBehind(feed, read))
        {
            return false;
        }

        var delivered = feed.Delivered!.Value;
        if (since is { } s && string.Equals(s.Epoch, delivered.Epoch, StringComparison.Ordinal) && s.Seq > delivered.Seq)
        {
            if (s.Seq > read.Top)
            {
                // Beyond the stream's top in its own epoch: a position Redis lost (a restart from an older snapshot, a
                // lagging replica promoted). Pub/sub would bring other events at those numbers, so no waiting: the
                // catch-up and the history answer as before (a refetch).
                return false;
            }

            return mayWait; // ahead of this instance: wait for pub/sub, then (not having waited) the stream decides
        }

        answer = HistoryOf(guildId, read, since, upTo: delivered);
        return true;
    }

    /// <summary>Waits until the feed delivered <paramref name="position"/> (same epoch, still healthy), at most a position check interval.</summary>
    private async Task<bool> WaitDeliveredAsync(GuildFeed feed, StreamPosition position, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            Task next;
            await feed.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (feed.Closed || feed.Stale || feed.Delivered is not { } delivered || !string.Equals(delivered.Epoch, position.Epoch, StringComparison.Ordinal))
                {
                    return false;
                }

                if (delivered.Seq >= position.Seq)
                {
                    return true;
                }

                next = feed.NextDelivered();
            }
            finally
            {
                feed.Gate.Release();
            }

            var left = _checkInterval - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            try
            {
                await next.WaitAsync(left, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                return false;
            }
        }
    }
}
