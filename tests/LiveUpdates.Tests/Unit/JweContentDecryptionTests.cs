using System.Text;
using LiveUpdates.Internal.Security;

namespace LiveUpdates.Tests.Unit;

/// <summary>The content decryptions against the published test vector of RFC 7518 Appendix B.3 (AES_256_CBC_HMAC_SHA_512).</summary>
[TestFixture]
public sealed class JweContentDecryptionTests
{
    private static readonly byte[] Key = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
    private static readonly byte[] Plaintext = Encoding.ASCII.GetBytes(
        "A cipher system must not be required to be secret, and it must be able to fall into the hands of the enemy without inconvenience");
    private static readonly byte[] Iv = Hex("1a f3 8c 2d c2 b9 6f fd d8 66 94 09 23 41 bc 04");
    private static readonly byte[] Aad = Encoding.ASCII.GetBytes("The second principle of Auguste Kerckhoffs");
    private static readonly byte[] Ciphertext = Hex(
        "4a ff aa ad b7 8c 31 c5 da 4b 1b 59 0d 10 ff bd",
        "3d d8 d5 d3 02 42 35 26 91 2d a0 37 ec bc c7 bd",
        "82 2c 30 1d d6 7c 37 3b cc b5 84 ad 3e 92 79 c2",
        "e6 d1 2a 13 74 b7 7f 07 75 53 df 82 94 10 44 6b",
        "36 eb d9 70 66 29 6a e6 42 7e a7 5c 2e 08 46 a1",
        "1a 09 cc f5 37 0d c8 0b fe cb ad 28 c7 3f 09 b3",
        "a3 b7 5e 66 2a 25 94 41 0a e4 96 b2 e2 e6 60 9e",
        "31 e6 e0 2c c8 37 f0 53 d2 1f 37 ff 4f 51 95 0b",
        "be 26 38 d0 9d d7 a4 93 09 30 80 6d 07 03 b1 f6");
    private static readonly byte[] Tag = Hex(
        "4d d3 b4 c0 88 a7 f4 5c 21 68 39 64 5b 20 12 bf",
        "2e 62 69 a8 c5 6a 81 6d bc 1b 26 77 61 95 5b c5");

    [Test]
    public void TryDecryptA256CbcHs512_Rfc7518AppendixB3_RecoversThePlaintext()
    {
        var output = new byte[Ciphertext.Length];

        var ok = JweContentDecryption.TryDecryptA256CbcHs512(Key, Aad, Iv, Ciphertext, Tag, output, out var written);

        Assert.That(ok, Is.True);
        Assert.That(output[..written], Is.EqualTo(Plaintext));
    }

    [TestCase(0, TestName = "TryDecryptA256CbcHs512_TamperedAad_False")]
    [TestCase(1, TestName = "TryDecryptA256CbcHs512_TamperedIv_False")]
    [TestCase(2, TestName = "TryDecryptA256CbcHs512_TamperedCiphertext_False")]
    [TestCase(3, TestName = "TryDecryptA256CbcHs512_TamperedTag_False")]
    [TestCase(4, TestName = "TryDecryptA256CbcHs512_TamperedMacKey_False")]
    [TestCase(5, TestName = "TryDecryptA256CbcHs512_AadLengthMovedIntoIv_False")]
    public void TryDecryptA256CbcHs512_Tampered_False(int what)
    {
        byte[] key = [.. Key], aad = [.. Aad], iv = [.. Iv], ciphertext = [.. Ciphertext], tag = [.. Tag];
        switch (what)
        {
            case 0: aad[^1] ^= 1; break;
            case 1: iv[0] ^= 1; break;
            case 2: ciphertext[^1] ^= 1; break;
            case 3: tag[^1] ^= 1; break;
            case 4: key[0] ^= 1; break;
            case 5: // AL binds the AAD length: moving a byte from the AAD to the IV keeps AAD||IV identical.
                aad = Aad[..^1];
                iv = [Aad[^1], .. Iv[..^1]];
                break;
        }

        Assert.That(JweContentDecryption.TryDecryptA256CbcHs512(key, aad, iv, ciphertext, tag, new byte[ciphertext.Length], out _), Is.False);
    }

    [TestCase("A256GCM", 12, 32, 16, true)]
    [TestCase("A256GCM", 16, 32, 16, false)]
    [TestCase("A256GCM", 12, 32, 15, false)]
    [TestCase("A256CBC-HS512", 16, 32, 32, true)]
    [TestCase("A256CBC-HS512", 16, 33, 32, false)]
    [TestCase("A256CBC-HS512", 16, 0, 32, false)]
    [TestCase("A256CBC-HS512", 16, 32, 64, false)]
    [TestCase("A128CBC-HS256", 16, 32, 16, false)]
    public void HasValidShape_ChecksIvCiphertextAndTagLengths(string enc, int iv, int ciphertext, int tag, bool expected) =>
        Assert.That(JweContentDecryption.HasValidShape(enc, iv, ciphertext, tag), Is.EqualTo(expected));

    private static byte[] Hex(params string[] rows) => Convert.FromHexString(string.Concat(rows).Replace(" ", "", StringComparison.Ordinal));
}
