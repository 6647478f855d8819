using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LiveUpdates.Internal.Protocol;

/// <summary>
/// Writes server-to-client frames as UTF-8 JSON. Each broadcast is serialized exactly once, on the caller's
/// thread, into a thread-local buffer; the only allocation kept is the exact-size frame shared by every recipient.
/// </summary>
internal static class EnvelopeSerializer
{
    /// <summary>A thread's scratch buffer is dropped after a frame larger than this, so one huge event does not pin memory forever.</summary>
    private const int MaxRetainedScratchBytes = 64 * 1024;

    // The frames go to WebSocket clients, not into HTML, so quotes and angle brackets need no escaping.
    private static readonly JsonWriterOptions s_writerOptions = new() { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    /// <summary><c>{}</c>: the data of an event broadcast without any.</summary>
    public static ReadOnlyMemory<byte> EmptyData { get; } = "{}"u8.ToArray();

    /// <summary>Serializes an event's data on the broadcaster's thread: the one allocation of a broadcast.</summary>
    /// <exception cref="ArgumentException"><paramref name="data"/> cannot be serialized.</exception>
    public static ReadOnlyMemory<byte> SerializeData(string eventName, object? data, JsonSerializerOptions serializerOptions)
    {
        if (data is null)
        {
            return EmptyData;
        }

        try
        {
            return JsonSerializer.SerializeToUtf8Bytes(data, data.GetType(), serializerOptions);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException)
        {
            throw new ArgumentException(
                $"The data of event '{eventName}' could not be serialized to JSON: {ex.Message}", nameof(data), ex);
        }
    }

    /// <summary>
    /// Writes the event envelope <c>{"event","guildId","data","timestamp","seq","epoch"}</c> around already
    /// serialized <paramref name="data"/>. Called once per broadcast by the dispatcher, whatever the audience.
    /// <paramref name="dataOffset"/> is where <paramref name="data"/> stands, unchanged, in the envelope.
    /// </summary>
    public static byte[] SerializeEvent(string eventName, string guildId, ReadOnlySpan<byte> data, long timestampMs, long seq, string epoch, out int dataOffset)
    {
        var writer = Rent(out var buffer);
        try
        {
            writer.WriteStartObject();
            writer.WriteString(ProtocolNames.Event, eventName);
            writer.WriteString(ProtocolNames.GuildId, guildId);
            writer.WritePropertyName(ProtocolNames.Data);
            dataOffset = (int)(writer.BytesCommitted + writer.BytesPending);
            writer.WriteRawValue(data, skipInputValidation: true);
            writer.WriteNumber(ProtocolNames.Timestamp, timestampMs);
            writer.WriteNumber(ProtocolNames.Seq, seq);
            writer.WriteString(ProtocolNames.Epoch, epoch);
            writer.WriteEndObject();
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            Return(buffer, writer);
        }
    }

    /// <summary>Serializes a control message <c>{"event", ["guildId",] "data"}</c> whose data is written by <paramref name="writeData"/>.</summary>
    public static byte[] SerializeControl<TState>(string eventName, string? guildId, TState state, Action<Utf8JsonWriter, TState> writeData)
    {
        var writer = Rent(out var buffer);
        try
        {
            writer.WriteStartObject();
            writer.WriteString(ProtocolNames.Event, eventName);
            if (guildId is not null)
            {
                writer.WriteString(ProtocolNames.GuildId, guildId);
            }

            writer.WritePropertyName(ProtocolNames.Data);
            writer.WriteStartObject();
            writeData(writer, state);
            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.Flush();
            return buffer.WrittenSpan.ToArray();
        }
        finally
        {
            Return(buffer, writer);
        }
    }

    private static Utf8JsonWriter Rent(out ArrayBufferWriter<byte> buffer)
    {
        buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = t_writer;
        if (writer is null)
        {
            writer = t_writer = new Utf8JsonWriter(buffer, s_writerOptions);
        }
        else
        {
            writer.Reset(buffer);
        }

        // A nested call (data whose serializer broadcasts) must not share the thread's scratch state.
        t_buffer = null;
        t_writer = null;
        return writer;
    }

    private static void Return(ArrayBufferWriter<byte> buffer, Utf8JsonWriter writer)
    {
        if (buffer.Capacity > MaxRetainedScratchBytes)
        {
            return;
        }

        buffer.ResetWrittenCount();
        t_buffer = buffer;
        t_writer = writer;
    }
}
