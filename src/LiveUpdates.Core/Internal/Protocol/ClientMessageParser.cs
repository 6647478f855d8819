using System.Text.Json;

namespace LiveUpdates.Internal.Protocol;

/// <summary>
/// Parses a client text frame with <see cref="Utf8JsonReader"/>: no document is built and only the fields the
/// protocol knows are materialized. Every failure maps to a stable error code; nothing throws to the caller.
/// </summary>
internal static class ClientMessageParser
{
    private const int MaxDepth = 16;

    public static bool TryParse(ReadOnlySpan<byte> utf8, out ClientMessage message, out ProtocolError error)
    {
        message = default;
        string? type = null, token = null, guildId = null, epoch = null;
        long? lastSeq = null;
        bool hasToken = false, hasGuildId = false, badRecovery = false, batch = false;
        try
        {
            var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read())
            {
                error = new(LiveErrorCodes.InvalidJson, "Message is not valid JSON.");
                return false;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                // Still check the rest is well-formed JSON, so the code tells the two mistakes apart.
                reader.Skip();
                EnsureEnd(ref reader);
                error = new(LiveErrorCodes.InvalidMessage, "Message must be a JSON object with a 'type' field.");
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("type"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        reader.Skip();
                        EnsureEnd(ref reader);
                        error = new(LiveErrorCodes.InvalidMessage, "'type' must be a string.");
                        return false;
                    }

                    type = reader.GetString();
                }
                else if (reader.ValueTextEquals("token"u8))
                {
                    reader.Read();
                    hasToken = true;
                    token = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("guildId"u8))
                {
                    reader.Read();
                    hasGuildId = true;
                    guildId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("lastSeq"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var seq) && seq >= 0)
                    {
                        lastSeq = seq;
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        badRecovery = true;
                    }

                    reader.Skip();
                }
                else if (reader.ValueTextEquals("batch"u8))
                {
                    // A capability: only a literal true turns it on; anything else is ignored like an unknown field.
                    reader.Read();
                    batch = reader.TokenType == JsonTokenType.True;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("epoch"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        epoch = reader.GetString();
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        badRecovery = true;
                    }

                    reader.Skip();
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            EnsureEnd(ref reader);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            // InvalidOperationException: a string that is not valid UTF-8 or has invalid escapes.
            error = new(LiveErrorCodes.InvalidJson, "Message is not valid JSON.");
            return false;
        }

        switch (type)
        {
            case null:
                error = new(LiveErrorCodes.InvalidMessage, "Message has no 'type' field.");
                return false;
            case ProtocolNames.TypePing:
                message = new(ClientMessageType.Ping, null, null);
                break;
            case ProtocolNames.TypeAuth:
                if (hasToken && token is null)
                {
                    error = new(LiveErrorCodes.InvalidMessage, "'token' must be a string.");
                    return false;
                }

                message = new(ClientMessageType.Auth, token, null, Batch: batch);
                break;
            case ProtocolNames.TypeSubscribe or ProtocolNames.TypeUnsubscribe:
                if (!hasGuildId || guildId is null)
                {
                    error = new(LiveErrorCodes.InvalidMessage, "'guildId' must be a string.");
                    return false;
                }

                if (type == ProtocolNames.TypeUnsubscribe)
                {
                    message = new(ClientMessageType.Unsubscribe, null, guildId);
                    break;
                }

                if (badRecovery || (lastSeq is null) != (epoch is null))
                {
                    error = new(LiveErrorCodes.InvalidMessage, "To recover, send both 'lastSeq' (a non-negative integer) and 'epoch' (a string) as received.");
                    return false;
                }

                message = new(ClientMessageType.Subscribe, null, guildId, lastSeq, epoch);
                break;
            default:
                error = new(LiveErrorCodes.UnknownType, "Unknown message type; expected auth, subscribe, unsubscribe or ping.");
                return false;
        }

        error = default;
        return true;
    }

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        // Drain the object, then require that nothing but whitespace follows it.
        while (reader.CurrentDepth > 0 && reader.Read())
        {
        }

        if (reader.Read())
        {
            throw new JsonException("Trailing content after the message.");
        }
    }
}
