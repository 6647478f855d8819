using LiveUpdates.Security;

namespace LiveUpdates.Internal.Subscriptions;

/// <summary>
/// The guilds one connection is subscribed to, each with its access. A copy-on-write array (a connection has at
/// most <c>MaxGuildsPerClient</c>), so the per-event lookup is a short scan with no allocation. Not thread-safe: the
/// connection guards it with its lock, the same lock under which it queues frames.
/// </summary>
internal sealed class SubscriptionSet
{
    private Subscription[] _items = [];

    public int Count => _items.Length;

    public Subscription? Find(string guildId)
    {
        foreach (var s in _items)
        {
            if (string.Equals(s.GuildId, guildId, StringComparison.Ordinal))
            {
                return s;
            }
        }

        return null;
    }

    /// <summary>Adds a subscription to <paramref name="guildId"/>, or replaces the access of an existing one; returns <see langword="true"/> when it is new.</summary>
    public bool Set(string guildId, GuildAccess access)
    {
        for (var i = 0; i < _items.Length; i++)
        {
            if (string.Equals(_items[i].GuildId, guildId, StringComparison.Ordinal))
            {
                var items = (Subscription[])_items.Clone();
                items[i] = items[i] with { Access = access };
                _items = items;
                return false;
            }
        }

        _items = [.. _items, new Subscription(guildId, access)];
        return true;
    }

    /// <summary>Removes the subscription to <paramref name="guildId"/>; returns <see langword="true"/> when there was one.</summary>
    public bool Remove(string guildId)
    {
        if (Find(guildId) is null)
        {
            return false;
        }

        _items = [.. _items.Where(s => !string.Equals(s.GuildId, guildId, StringComparison.Ordinal))];
        return true;
    }

    /// <summary>Removes every subscription and returns them.</summary>
    public Subscription[] Clear()
    {
        var items = _items;
        _items = [];
        return items;
    }

    /// <summary>Gets the subscriptions as they are now (a snapshot).</summary>
    public IReadOnlyList<Subscription> Snapshot() => _items;
}
