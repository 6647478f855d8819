using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// Reads the pub/sub message of one publication on a guild's channel, <c>seq \n epoch \n identity \n previous identity \n timestamp \n name \n data</c>,
/// which the publish script (<see cref="RedisScripts.Publish"/>) produces; stateless, so any thread may call it.
/// </summary>
/// <remarks>The previous identity is empty (0) for the first entry of an epoch; the name is empty for a gap; the data is last, so it may itself contain newlines.</remarks>
internal static class ChannelPayload
{
    /// <summary>Splits a channel message into its fields; <see langword="false"/> if it is not one of ours.</summary>
    /// <remarks>The epoch and the data are slices of the message, not copies: comparing the epoch allocates nothing.</remarks>
    public static bool TryParse(RedisValue value, out long seq, out ReadOnlyMemory<byte> epoch, out long id, out long previousId, out long timestamp, out string? name, out ReadOnlyMemory<byte> data)
    {
        seq = id = previousId = timestamp = 0;
        name = null;
        epoch = data = default;
        var bytes = (byte[]?)value;
        if (bytes is null)
        {
            return false;
        }

        var memory = bytes.AsMemory();
        Span<int> newlines = stackalloc int[6];
        var from = 0;
        for (var i = 0; i < 6; i++)
        {
            var at = memory.Span[from..].IndexOf((byte)'\n');
            if (at < 0)
            {
                return false;
            }

            newlines[i] = from + at;
            from += at + 1;
        }

        if (!Utf8Parser.TryParse(memory.Span[..newlines[0]], out seq, out _) ||
            !Utf8Parser.TryParse(memory.Span[(newlines[1] + 1)..newlines[2]], out id, out _) ||
            !Utf8Parser.TryParse(memory.Span[(newlines[3] + 1)..newlines[4]], out timestamp, out _))
        {
            return false;
        }

        epoch = memory[(newlines[0] + 1)..newlines[1]];
        if (newlines[3] > newlines[2] + 1 && !Utf8Parser.TryParse(memory.Span[(newlines[2] + 1)..newlines[3]], out previousId, out _))
        {
            return false;
        }

        name = newlines[5] > newlines[4] + 1 ? Encoding.UTF8.GetString(memory.Span[(newlines[4] + 1)..newlines[5]]) : null;
        data = memory[(newlines[5] + 1)..];
        return true;
    }
}
