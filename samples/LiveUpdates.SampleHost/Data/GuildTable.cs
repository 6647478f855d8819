namespace LiveUpdates.SampleHost.Data;

/// <summary>
/// One table of the sample's in-memory database: records of one kind, per guild, in insertion order.
/// A real bot keeps these in MongoDB; the plugins only need "write, then broadcast".
/// </summary>
public sealed class GuildTable<T>
    where T : class, IGuildRecord
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, List<T>> _byGuild = new(StringComparer.Ordinal);

    /// <summary>Every record of <paramref name="guildId"/>, oldest first.</summary>
    public IReadOnlyList<T> List(string guildId)
    {
        lock (_lock)
        {
            return _byGuild.TryGetValue(guildId, out var list) ? [.. list] : [];
        }
    }

    public T? Find(string guildId, string id)
    {
        lock (_lock)
        {
            return _byGuild.TryGetValue(guildId, out var list) ? list.Find(r => r.Id == id) : null;
        }
    }

    /// <summary>Inserts <paramref name="record"/>, or replaces the record with its id in place.</summary>
    public T Upsert(string guildId, T record)
    {
        lock (_lock)
        {
            if (!_byGuild.TryGetValue(guildId, out var list))
            {
                _byGuild[guildId] = list = [];
            }

            var i = list.FindIndex(r => r.Id == record.Id);
            if (i >= 0)
            {
                list[i] = record;
            }
            else
            {
                list.Add(record);
            }

            return record;
        }
    }

    /// <summary>Applies <paramref name="change"/> to the record with <paramref name="id"/> atomically; null when there is none.</summary>
    public T? Update(string guildId, string id, Func<T, T> change)
    {
        lock (_lock)
        {
            return IndexOf(guildId, id, out var list) is int i ? list[i] = change(list[i]) : null;
        }
    }

    public T? Remove(string guildId, string id)
    {
        lock (_lock)
        {
            if (IndexOf(guildId, id, out var list) is not int i)
            {
                return null;
            }

            var removed = list[i];
            list.RemoveAt(i);
            return removed;
        }
    }

    /// <summary>The index of the record with <paramref name="id"/> in its guild's list; call under the lock.</summary>
    private int? IndexOf(string guildId, string id, out List<T> list)
    {
        if (!_byGuild.TryGetValue(guildId, out list!))
        {
            return null;
        }

        var i = list.FindIndex(r => r.Id == id);
        return i < 0 ? null : i;
    }
}
