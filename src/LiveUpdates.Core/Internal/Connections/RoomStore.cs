using System.Collections.Concurrent;

namespace LiveUpdates.Internal.Connections;

/// <summary>
/// Guild rooms: guild id → the connections subscribed to it. Readers (the dispatcher) take a lock-free snapshot
/// array; joins and leaves copy it under the room's lock. An emptied room is removed atomically with respect to
/// a concurrent join, which then retries on a fresh room.
/// </summary>
internal sealed class RoomStore
{
    private readonly ConcurrentDictionary<string, Room> _rooms = new(StringComparer.Ordinal);

    public int RoomCount => _rooms.Count;

    public ClientConnection[] GetMembers(string guildId) =>
        _rooms.TryGetValue(guildId, out var room) ? Volatile.Read(ref room.Members) : [];

    public void Add(string guildId, ClientConnection connection)
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
                if (Array.IndexOf(members, connection) >= 0)
                {
                    return;
                }

                var next = new ClientConnection[members.Length + 1];
                members.CopyTo(next, 0);
                next[^1] = connection;
                Volatile.Write(ref room.Members, next);
                return;
            }
        }
    }

    public void Remove(string guildId, ClientConnection connection)
    {
        if (!_rooms.TryGetValue(guildId, out var room))
        {
            return;
        }

        lock (room)
        {
            var members = room.Members;
            var index = Array.IndexOf(members, connection);
            if (index < 0)
            {
                return;
            }

            if (members.Length == 1)
            {
                room.Removed = true;
                Volatile.Write(ref room.Members, []);
                _rooms.TryRemove(new KeyValuePair<string, Room>(guildId, room));
                return;
            }

            var next = new ClientConnection[members.Length - 1];
            Array.Copy(members, 0, next, 0, index);
            Array.Copy(members, index + 1, next, index, members.Length - index - 1);
            Volatile.Write(ref room.Members, next);
        }
    }

    private sealed class Room
    {
        public ClientConnection[] Members = [];
        public bool Removed;
    }
}
