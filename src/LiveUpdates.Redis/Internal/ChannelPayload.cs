using System.Buffers.Text;
using System.Text;
using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// Reads the pub/sub message of one publication on a guild's channel, <c>seq \n epoch \n timestamp \n name \n data</c>,
/// which the publish script (<see cref="RedisScripts.Publish"/>) produces; stateless, so any thread may call it.
/// </summary>
/// <remarks>The name is empty for a gap; the data is last, so it may itself contain newlines.</remarks>
internal static class ChannelPayload
{
    /// <summary>Splits a channel message into its fields; <see langword="false"/> if it is not one of ours.</summary>
    /// <remarks>The epoch and the data are slices of the message, not copies: comparing the epoch allocates nothing.</remarks>
    public static bool TryParse(RedisValue value, out long seq, out ReadOnlyMemory<byte> epoch, out long timestamp, out string? name, out ReadOnlyMemory<byte> data)
    {
        seq = timestamp = 0;
        name = null;
        epoch = data = default;
        var bytes = (byte[]?)value;
        if (bytes is null)
        {
            return false;
        }

        var memory = bytes.AsMemory();
        Span<int> newlines = stackalloc int[4];
        var from = 0;
        for (var i = 0; i < 4; i++)
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
            !Utf8Parser.TryParse(memory.Span[(newlines[1] + 1)..newlines[2]], out timestamp, out _))
        {
            return false;
        }

        epoch = memory[(newlines[0] + 1)..newlines[1]];
        name = newlines[3] > newlines[2] + 1 ? Encoding.UTF8.GetString(memory.Span[(newlines[2] + 1)..newlines[3]]) : null;
        data = memory[(newlines[3] + 1)..];
        return true;
    }
}
