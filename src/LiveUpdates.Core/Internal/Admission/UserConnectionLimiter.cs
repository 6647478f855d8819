using System.Collections.Concurrent;

namespace LiveUpdates.Internal.Admission;

/// <summary>
/// Counts authenticated connections per user id across the server instance (<see cref="LiveUpdatesOptions.MaxConnectionsPerUser"/>):
/// a slot is taken when a connection authenticates as a user and given back when it ends or re-authenticates as another.
/// Thread-safe.
/// </summary>
internal sealed class UserConnectionLimiter(int maxPerUser)
{
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);

    /// <summary>Takes a slot for <paramref name="userId"/>; <see langword="false"/> when the user holds <c>maxPerUser</c> already.</summary>
    public bool TryAcquire(string userId)
    {
        while (true)
        {
            if (!_perUser.TryGetValue(userId, out var count))
            {
                if (_perUser.TryAdd(userId, 1))
                {
                    return true;
                }
            }
            else if (count >= maxPerUser)
            {
                return false;
            }
            else if (_perUser.TryUpdate(userId, count + 1, count))
            {
                return true;
            }
        }
    }

    public void Release(string userId)
    {
        while (_perUser.TryGetValue(userId, out var count))
        {
            if (count <= 1
                ? _perUser.TryRemove(new KeyValuePair<string, int>(userId, count))
                : _perUser.TryUpdate(userId, count - 1, count))
            {
                return;
            }
        }
    }
}
