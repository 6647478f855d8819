using LiveUpdates.Brokers;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>One entry of a guild's Redis stream.</summary>
internal readonly record struct StreamItem(long Seq, string? Name, ReadOnlyMemory<byte> Data, long Timestamp, long AppendedAt)
{
    public Publication ToPublication(string guildId, string epoch) => new(
        Name is { Length: > 0 } name ? BrokerMessage.Event(guildId, name, Data, Timestamp) : BrokerMessage.Gap(guildId, Timestamp),
        new StreamPosition(Seq, epoch));
}

/// <summary>What the read script answered: the stream's position, Redis's clock, and the entries asked for.</summary>
internal sealed class StreamRead(string epoch, long top, long now, IReadOnlyList<StreamItem> items)
{
    public string Epoch { get; } = epoch;

    public long Top { get; } = top;

    /// <summary>Gets Redis's clock when it read, in Unix milliseconds: what entry ages are measured against.</summary>
    public long Now { get; } = now;

    public IReadOnlyList<StreamItem> Items { get; } = items;

    public StreamPosition Current => new(Top, Epoch);

    /// <summary>The entries <paramref name="first"/>..<see cref="Top"/>, if every one of them was read (none trimmed away).</summary>
    public bool TryGetFrom(long first, out List<StreamItem> items) => TryGetRange(first, Top, out items);

    /// <summary>The entries <paramref name="first"/>..<paramref name="last"/>, if every one of them was read (none trimmed away).</summary>
    public bool TryGetRange(long first, long last, out List<StreamItem> items)
    {
        items = [];
        foreach (var item in Items)
        {
            if (item.Seq < first || item.Seq > last)
            {
                continue;
            }

            if (item.Seq != first + items.Count)
            {
                return false;
            }

            items.Add(item);
        }

        return first + items.Count == last + 1;
    }

    public static StreamRead Parse(RedisResult result)
    {
        var parts = (RedisResult[])result!;
        var items = parts.Length > 3 ? ParseEntries((RedisResult[])parts[3]!) : [];
        return new StreamRead((string)parts[0]!, (long)parts[1], (long)parts[2], items);
    }

    /// <summary>Parses an <c>XRANGE</c> reply as the script returns it: <c>[[id, [field, value, …]], …]</c>.</summary>
    public static List<StreamItem> ParseEntries(RedisResult[] entries)
    {
        var items = new List<StreamItem>(entries.Length);
        foreach (var entry in entries)
        {
            var pair = (RedisResult[])entry!;
            var fields = (RedisResult[])pair[1]!;
            string? name = null;
            byte[] data = [];
            long timestamp = 0, appendedAt = 0;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                switch ((string?)fields[i])
                {
                    case "n": name = (string?)fields[i + 1]; break;
                    case "d": data = (byte[]?)fields[i + 1] ?? []; break;
                    case "t": timestamp = (long)fields[i + 1]; break;
                    case "w": appendedAt = (long)fields[i + 1]; break;
                }
            }

            items.Add(new StreamItem(SeqOf((string)pair[0]!), name, data, timestamp, appendedAt));
        }

        return items;
    }

    private static long SeqOf(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return long.Parse(dash < 0 ? id : id[..dash], System.Globalization.CultureInfo.InvariantCulture);
    }
}
