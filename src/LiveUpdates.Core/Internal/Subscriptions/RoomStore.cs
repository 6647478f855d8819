using System.Collections.Concurrent;

namespace LiveUpdates.Internal.Subscriptions;

/// <summary>
/// Guild rooms: guild id → the subscribers of this server. Readers (the dispatcher) take a lock-free snapshot
/// array; joins and leaves copy it under the room's lock. An emptied room is removed atomically with respect to
/// a concurrent join, which then retries on a fresh room.
/// </summary>
internal sealed class RoomStore
{
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);

    public int RoomCount => _rooms.Count;

    public ISubscriber[] GetMembers(string guildId) =>
        _rooms.TryGetValue(guildId, out var room) ? Volatile.Read(ref room.Members) : [];

    public void Add(string guildId, ISubscriber subscriber)
    {
        while (true)
        {
            var room = _rooms.GetOrAdd(guildId, static _ => new Room());
            lock (room)
            {
                if (room.Removed)
                {
                    continue;
                }

                var members = room.Members;
                if (Array.IndexOf(members, subscriber) >= 0)
                {
                    return;
                }

                var next = new ISubscriber[members.Length + 1];
                members.CopyTo(next, 0);
                next[^1] = subscriber;
                Volatile.Write(ref room.Members, next);
                return;
            }
        }
    }

    /// <summary>Removes <paramref name="subscriber"/>; returns <see langword="true"/> when that emptied (and removed) the room.</summary>
    public bool Remove(string guildId, ISubscriber subscriber)
    {
        if (!_rooms.TryGetValue(guildId, out var room))
        {
            return false;
        }

        lock (room)
        {
            var members = room.Members;
            var index = Array.IndexOf(members, subscriber);
            if (index < 0)
            {
                return false;
            }

            if (members.Length == 1)
            {
                room.Removed = true;
                Volatile.Write(ref room.Members, []);
                _rooms.TryRemove(new KeyValuePair<string, Room>(guildId, room));
                return true;
            }

            var next = new ISubscriber[members.Length - 1];
            Array.Copy(members, 0, next, 0, index);
            Array.Copy(members, index + 1, next, index, members.Length - index - 1);
            Volatile.Write(ref room.Members, next);
            return false;
        }
    }

    private sealed class Room
    {
        public ISubscriber[] Members = [];
        public bool Removed;
    }
}
