using System.Net.WebSockets;
using System.Text.Json;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>Reads whole messages from a socket that a test drives by hand (no background reader).</summary>
internal static class RawReader
{
    /// <summary>The next message, or <see langword="null"/> at a close frame.</summary>
    public static async Task<JsonElement?> NextAsync(WebSocket socket)
    {
        var buffer = new byte[256 * 1024];
        using var assembled = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(Wait.Default);
            assembled.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        if (result.MessageType == WebSocketMessageType.Close)
        {
            return null;
        }

        using var document = JsonDocument.Parse(assembled.ToArray());
        return document.RootElement.Clone();
    }
}
