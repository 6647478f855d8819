using System.Buffers;
using System.Buffers.Text;

namespace LiveUpdates.Internal.Security;

/// <summary>Strict base64url for token segments: the URL-safe alphabet only, no padding, no whitespace.</summary>
internal static class Base64UrlSegment
{
    private static readonly SearchValues<char> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    /// <summary>Whether <paramref name="text"/> is made only of base64url characters (so also plain ASCII).</summary>
    public static bool IsWellFormed(ReadOnlySpan<char> text) =>
        text.Length % 4 != 1 && !text.ContainsAnyExcept(Alphabet);

    /// <summary>Decodes <paramref name="text"/>; <see langword="false"/> for anything that is not strict base64url.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (!IsWellFormed(text))
        {
            return false;
        }

        var buffer = new byte[Base64Url.GetMaxDecodedLength(text.Length)];
        var status = Base64Url.DecodeFromChars(text, buffer, out var consumed, out var written);
        if (status != OperationStatus.Done || consumed != text.Length)
        {
            return false;
        }

        bytes = written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
        return true;
    }
}
