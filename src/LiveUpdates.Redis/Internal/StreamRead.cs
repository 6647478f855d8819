using LiveUpdates.Brokers;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>One entry of a guild's Redis stream.</summary>
/// <remarks><see cref="Id"/> is the entry's identity (0 for an entry written without one).</remarks>
internal readonly record struct StreamItem(long Seq, string? Name, ReadOnlyMemory<byte> Data, long Timestamp, long AppendedAt, long Id)
{
    public Publication ToPublication(string guildId, string epoch) => new(
        Name is { Length: > 0 } name ? BrokerMessage.Event(guildId, name, Data, Timestamp) : BrokerMessage.Gap(guildId, Timestamp),
        new StreamPosition(Seq, epoch));
}

/// <summary>What the read script answered: the stream's position (and its top entry's identity), Redis's clock, and the entries asked for.</summary>
internal sealed class StreamRead(string epoch, long top, long now, bool rotated, long topId, IReadOnlyList<StreamItem> items)
{
    public string Epoch { get; } = epoch;

    public long Top { get; } = top;

    /// <summary>Gets Redis's clock when it read, in Unix milliseconds: what entry ages are measured against.</summary>
    public long Now { get; } = now;

    /// <summary>Gets a value indicating whether the script started a new epoch because the stream contradicted the anchor (Redis lost writes).</summary>
    public bool Rotated { get; } = rotated;

    /// <summary>Gets the identity of the entry at <see cref="Top"/>; 0 when unknown (none, trimmed, or written without one).</summary>
    public long TopId { get; } = topId;

    public IReadOnlyList<StreamItem> Items { get; } = items;

    /// <summary>Gets the stream's position with its top entry's identity.</summary>
    public Anchor CurrentAnchor => new(Current, TopId);

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
        var items = parts.Length > 5 ? ParseEntries((RedisResult[])parts[5]!) : [];
        return new StreamRead((string)parts[0]!, (long)parts[1], (long)parts[2], (long)parts[3] != 0, IdOf((string?)parts[4]), items);
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
            long timestamp = 0, appendedAt = 0, id = 0;
            for (var i = 0; i + 1 < fields.Length; i += 2)
            {
                switch ((string?)fields[i])
                {
                    case "n": name = (string?)fields[i + 1]; break;
                    case "d": data = (byte[]?)fields[i + 1] ?? []; break;
                    case "t": timestamp = (long)fields[i + 1]; break;
                    case "w": appendedAt = (long)fields[i + 1]; break;
                    case "i": id = IdOf((string?)fields[i + 1]); break;
                }
            }

            items.Add(new StreamItem(SeqOf((string)pair[0]!), name, data, timestamp, appendedAt, id));
        }

        return items;
    }

    /// <summary>An entry identity as the scripts store it (decimal); 0 when absent or not one.</summary>
    public static long IdOf(string? text) => long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) ? id : 0;

    private static long SeqOf(string id)
    {
        var dash = id.IndexOf('-', StringComparison.Ordinal);
        return long.Parse(dash < 0 ? id : id[..dash], System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// A publication this instance knows Redis acknowledged: its position and its entry's identity (0 if unknown). The
/// scripts start a new epoch when the stream contradicts it (<see cref="RedisScripts"/>, "anchor").
/// </summary>
internal readonly record struct Anchor(StreamPosition Position, long Id)
{
    /// <summary>The script arguments: epoch, seq, identity ('' if unknown), capacity; no anchor is an empty epoch.</summary>
    public static void Write(Anchor? anchor, int capacity, Span<RedisValue> args)
    {
        args[0] = anchor?.Position.Epoch ?? string.Empty;
        args[1] = anchor?.Position.Seq ?? 0;
        args[2] = anchor is { Id: > 0 } known ? known.Id : string.Empty;
        args[3] = capacity;
    }

    /// <summary>The later of two anchors of one epoch; the first when their epochs differ or either is missing.</summary>
    public static Anchor? Latest(Anchor? first, Anchor? second) =>
        first is { } a && second is { } b && string.Equals(a.Position.Epoch, b.Position.Epoch, StringComparison.Ordinal) && b.Position.Seq > a.Position.Seq ? b : first ?? second;
}
