using System.Buffers;
using System.Text.Json;
using LiveUpdates.Brokers;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// The stream every instance of a shared broker watches for what is not about one guild: a user disconnected
/// everywhere (<see cref="WebSocketManager.DisconnectUserAsync(string, CancellationToken)"/>). It is an ordinary broker
/// stream under an id that is not a snowflake, so no client can subscribe to it and no broadcast can reach it, and any
/// broker that says it is <see cref="BrokerCapabilities.Shared"/> carries it with no change (ordered, numbered, with the
/// gap repair the broker gives guild streams). The dispatcher hands its publications to the server instead of a room.
/// </summary>
internal static class ControlStream
{
    /// <summary>The stream's id. Not a Discord snowflake (those are digits only).</summary>
    public const string Id = "liveupdates-control";

    /// <summary>The control message that closes one user's sockets; its data is <c>{"userId":"…"}</c>.</summary>
    public const string DisconnectUser = "control:disconnect_user";

    public static BrokerMessage DisconnectUserMessage(string userId, long timestamp)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("userId"u8, userId);
            writer.WriteEndObject();
        }

        return BrokerMessage.Event(Id, DisconnectUser, buffer.WrittenMemory, timestamp);
    }

    /// <summary>The user a <see cref="DisconnectUser"/> message names; <see langword="false"/> for any other or unreadable message.</summary>
    public static bool TryReadDisconnectUser(in BrokerMessage message, out string userId)
    {
        userId = string.Empty;
        if (!string.Equals(message.EventName, DisconnectUser, StringComparison.Ordinal))
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(message.Data.Span);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isUser = reader.ValueTextEquals("userId"u8);
                reader.Read();
                if (isUser && reader.TokenType == JsonTokenType.String && reader.GetString() is { Length: > 0 } id)
                {
                    userId = id;
                    return true;
                }

                reader.Skip();
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
