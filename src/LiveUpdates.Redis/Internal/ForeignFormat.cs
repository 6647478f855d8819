using Microsoft.Extensions.Logging;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// Notices channel messages and stream entries in a format this version does not write — an instance of another
/// LiveUpdates version on the same Redis and <see cref="RedisBrokerOptions.KeyPrefix"/> (this release added entry
/// identities to both, and the two versions skip or misread each other's messages) — and says so at Error, at most once
/// per <see cref="Interval"/>, with how many it saw; thread-safe (any channel's message queue, any read).
/// </summary>
/// <remarks>
/// A stream entry counts only if Redis appended it after this instance's first read: entries an earlier version left
/// before a deployment of every instance at once are read as they are (identity unknown) and are no sign of trouble.
/// </remarks>
internal sealed partial class ForeignFormat(string keyPrefix, TimeProvider time, ILogger logger)
{
    /// <summary>The shortest time between two reports.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    private readonly object _gate = new();
    private long _reportedAt;
    private bool _reported;
    private int _unreported;
    private long _since = long.MaxValue; // Redis's clock (ms) at this instance's first read

    /// <summary>A message on guild <paramref name="guildId"/>'s channel that is not in this version's format (it was skipped).</summary>
    public void OnChannelMessage(string guildId) => Seen("a channel message", guildId);

    /// <summary>Checks the entries of a read (Redis's clock <paramref name="now"/>) for ones written without an identity since this instance started reading.</summary>
    public void OnRead(string guildId, long now, IReadOnlyList<StreamItem> items)
    {
        var since = Interlocked.CompareExchange(ref _since, now, long.MaxValue);
        if (since == long.MaxValue)
        {
            return; // the first read: the baseline
        }

        foreach (var item in items)
        {
            // Appended in the millisecond of the first read or later (Redis's clock has milliseconds only: an entry
            // written in the same millisecond as that read, after it, is one of another version running now).
            if (item.Id == 0 && item.AppendedAt >= since)
            {
                Seen("a stream entry", guildId);
                return;
            }
        }
    }

    private void Seen(string what, string guildId)
    {
        int count;
        lock (_gate)
        {
            _unreported++;
            if (_reported && time.GetElapsedTime(_reportedAt) < Interval)
            {
                return;
            }

            _reported = true;
            _reportedAt = time.GetTimestamp();
            count = _unreported;
            _unreported = 0;
        }

        Log.Foreign(logger, what, guildId, count, keyPrefix);
    }

    // The broker's logger and event id (21): the log category stays LiveUpdates.Redis.RedisBroker.
    private static partial class Log
    {
        [LoggerMessage(21, LogLevel.Error, "Redis holds {What} of guild {GuildId} in a format this LiveUpdates version does not understand ({Count} such since the last report, at most one report per 5 minutes). Likely cause: an instance of another LiveUpdates version uses the same Redis and key prefix '{KeyPrefix}' - the two versions skip or misread each other's events. Deploy all instances together, or give each version its own KeyPrefix (a rolling upgrade across versions needs a new prefix)")]
        public static partial void Foreign(ILogger logger, string what, string guildId, int count, string keyPrefix);
    }
}
