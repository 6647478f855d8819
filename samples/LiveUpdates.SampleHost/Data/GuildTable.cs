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
            if (!_byGuild.TryGetValue(guildId, out var list))
            {
                return null;
            }

            var i = list.FindIndex(r => r.Id == id);
            if (i < 0)
            {
                return null;
            }

            return list[i] = change(list[i]);
        }
    }

    public T? Remove(string guildId, string id)
    {
        lock (_lock)
        {
            if (!_byGuild.TryGetValue(guildId, out var list))
            {
                return null;
            }

            var i = list.FindIndex(r => r.Id == id);
            if (i < 0)
            {
                return null;
            }

            var removed = list[i];
            list.RemoveAt(i);
            return removed;
        }
    }
}
