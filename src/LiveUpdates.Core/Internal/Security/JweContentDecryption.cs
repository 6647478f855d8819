using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;

namespace LiveUpdates.Internal.Security;

/// <summary>
/// The two JWE content encryptions dashboard session tokens use, with the BCL: <c>A256GCM</c> (NextAuth v4) and
/// <c>A256CBC-HS512</c> (Auth.js v5, RFC 7518 §5.2). Each returns <see langword="false"/> for a wrong key or any
/// tampering, and never says which.
/// </summary>
internal static class JweContentDecryption
{
    public const string A256Gcm = "A256GCM";
    public const string A256CbcHs512 = "A256CBC-HS512";

    private const int GcmIvBytes = 12;
    private const int GcmTagBytes = 16;
    private const int CbcIvBytes = 16;
    private const int CbcHalfKeyBytes = 32; // MAC key, then ENC key; also the tag length (T_LEN)
    private const int AesBlockBytes = 16;

    /// <summary>Whether the IV and tag lengths fit <paramref name="enc"/>, checked before any key is tried.</summary>
    public static bool HasValidShape(string enc, int ivLength, int ciphertextLength, int tagLength) => enc switch
    {
        A256Gcm => ivLength == GcmIvBytes && tagLength == GcmTagBytes,
        A256CbcHs512 => ivLength == CbcIvBytes && tagLength == CbcHalfKeyBytes && ciphertextLength > 0 && ciphertextLength % AesBlockBytes == 0,
        _ => false,
    };

    /// <summary>AES-256-GCM with a 128-bit tag; <paramref name="plaintext"/> must be as long as the ciphertext.</summary>
    public static bool TryDecryptA256Gcm(byte[] key, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext)
    {
        using var gcm = new AesGcm(key, GcmTagBytes);
        try
        {
            gcm.Decrypt(iv, ciphertext, tag, plaintext[..ciphertext.Length], aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    /// <summary>
    /// AES_256_CBC_HMAC_SHA_512 (RFC 7518 §5.2.2.2 and §5.2.5): MAC key = first 32 bytes, ENC key = last 32; the tag is
    /// the first 32 bytes of HMAC-SHA-512 over AAD || IV || ciphertext || AL, AL being the AAD's length in bits as a
    /// 64-bit big-endian integer. The tag is compared in constant time before anything is decrypted.
    /// </summary>
    public static bool TryDecryptA256CbcHs512(byte[] key, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> plaintext, out int written)
    {
        written = 0;
        var macKey = key.AsSpan(0, CbcHalfKeyBytes);
        var encKey = key.AsSpan(CbcHalfKeyBytes, CbcHalfKeyBytes);

        var macInputLength = aad.Length + iv.Length + ciphertext.Length + sizeof(ulong);
        var macInput = ArrayPool<byte>.Shared.Rent(macInputLength);
        Span<byte> mac = stackalloc byte[HMACSHA512.HashSizeInBytes];
        try
        {
            var span = macInput.AsSpan(0, macInputLength);
            aad.CopyTo(span);
            iv.CopyTo(span[aad.Length..]);
            ciphertext.CopyTo(span[(aad.Length + iv.Length)..]);
            BinaryPrimitives.WriteUInt64BigEndian(span[^sizeof(ulong)..], (ulong)aad.Length * 8);
            HMACSHA512.HashData(macKey, span, mac);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(macInput);
        }

        if (!CryptographicOperations.FixedTimeEquals(mac[..CbcHalfKeyBytes], tag))
        {
            return false;
        }

        using var aes = Aes.Create();
        aes.SetKey(encKey);
        try
        {
            return aes.TryDecryptCbc(ciphertext, iv, plaintext, out written, PaddingMode.PKCS7);
        }
        catch (CryptographicException)
        {
            // Bad padding under a valid tag: only a broken producer gets here; still no detail.
            return false;
        }
    }
}
