namespace LiveUpdates.Internal.Protocol;

internal enum ClientMessageType
{
    Auth,
    Subscribe,
    Unsubscribe,
    Ping,
}

/// <summary>
/// A parsed client message. Unknown fields are ignored so that clients may send additive extensions.
/// <see cref="LastSeq"/> and <see cref="Epoch"/> are a <c>subscribe</c>'s request to recover missed events.
/// </summary>
/// <see cref="Batch"/> is an <c>auth</c>'s declaration that the client reads newline-separated messages packed in one frame.
internal readonly record struct ClientMessage(ClientMessageType Type, string? Token, string? GuildId, long? LastSeq = null, string? Epoch = null, bool Batch = false);

/// <summary>Why a frame could not be parsed: the error code and a message for the client.</summary>
internal readonly record struct ProtocolError(string Code, string Message);
