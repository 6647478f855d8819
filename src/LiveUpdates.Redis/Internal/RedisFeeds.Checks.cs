namespace LiveUpdates.Redis.Internal;

// The position checks of RedisFeeds: which feeds are stale, and checking them on the broker's timer.
internal sealed partial class RedisFeeds
{
    /// <summary>Marks every feed as possibly behind (the connection failed or came back): the next tick checks them.</summary>
    public void MarkAllStale()
    {
        lock (_gate)
        {
            foreach (var feed in _feeds.Values)
            {
                feed.Stale = true;
            }
        }
    }

    /// <summary>Marks the feeds of the guilds <paramref name="guilds"/> selects as possibly behind (a Redis Cluster node that serves them failed or came back).</summary>
    /// <param name="guilds">Whether a guild is concerned.</param>
    public void MarkStale(Func<string, bool> guilds)
    {
        lock (_gate)
        {
            foreach (var feed in _feeds.Values)
            {
                feed.Stale |= guilds(feed.GuildId);
            }
        }
    }

    /// <summary>On the broker's timer: checks the stale feeds, or all of them once a <see cref="RedisBrokerOptions.PositionCheckInterval"/> has passed, if no check is running and Redis is connected.</summary>
    public void CheckPositionsIfDue()
    {
        // Half a tick early rather than a whole tick late.
        var due = _time.GetElapsedTime(Volatile.Read(ref _lastCheckAt)) + (_tick / 2) >= _checkInterval;
        bool anyStale;
        lock (_gate)
        {
            anyStale = _feeds.Values.Any(f => f.Stale || f.Queue is null);
        }

        if ((due || anyStale) && _connection?.IsConnected == true && Interlocked.CompareExchange(ref _checking, 1, 0) == 0)
        {
            if (due)
            {
                Volatile.Write(ref _lastCheckAt, _time.GetTimestamp());
            }

            _ = CheckFeedsAsync(all: due);
        }
    }

    /// <summary>Compares every subscribed guild's stream with what was delivered (or only the stale ones), repairing or reporting what is missing.</summary>
    private async Task CheckFeedsAsync(bool all)
    {
        try
        {
            GuildFeed[] feeds;
            lock (_gate)
            {
                feeds = [.. _feeds.Values.Where(f => all || f.Stale || f.Queue is null)];
            }

            foreach (var chunk in feeds.Chunk(32))
            {
                await Task.WhenAll(chunk.Select(f => SyncAsync(f, first: false, routine: true))).ConfigureAwait(false);
            }
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }
}
