using System.Text;
using LiveUpdates.Internal.Protocol;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class ClientMessageParserTests
{
    [Test]
    public void TryParse_Auth_ReadsToken()
    {
        Assert.That(Parse("""{"type":"auth","token":"abc"}""", out var m, out _), Is.True);
        Assert.That(m, Is.EqualTo(new ClientMessage(ClientMessageType.Auth, "abc", null)));
    }

    [TestCase("""{"type":"auth","token":"abc","batch":true}""", true)]
    [TestCase("""{"type":"auth","token":"abc","batch":false}""", false)]
    [TestCase("""{"type":"auth","token":"abc","batch":"yes"}""", false)]
    [TestCase("""{"type":"auth","token":"abc","batch":1}""", false)]
    public void TryParse_AuthBatch_OnlyLiteralTrueDeclaresTheCapability(string json, bool batch)
    {
        Assert.That(Parse(json, out var m, out _), Is.True);
        Assert.That(m, Is.EqualTo(new ClientMessage(ClientMessageType.Auth, "abc", null, Batch: batch)));
    }

    [Test]
    public void TryParse_SubscribeAndUnsubscribe_ReadGuildId()
    {
        Assert.That(Parse("""{"guildId":"1","type":"subscribe"}""", out var s, out _), Is.True);
        Assert.That(Parse("""{"type":"unsubscribe","guildId":"2"}""", out var u, out _), Is.True);
        Assert.Multiple(() =>
        {
            Assert.That(s, Is.EqualTo(new ClientMessage(ClientMessageType.Subscribe, null, "1")));
            Assert.That(u, Is.EqualTo(new ClientMessage(ClientMessageType.Unsubscribe, null, "2")));
        });
    }

    [Test]
    public void TryParse_UnknownFields_AreIgnored_ForAdditiveExtensions()
    {
        Assert.That(Parse("""{"type":"subscribe","guildId":"1","future":17,"more":{"a":[1,2]},"x":null}""", out var m, out _), Is.True);
        Assert.That(m, Is.EqualTo(new ClientMessage(ClientMessageType.Subscribe, null, "1")));
    }

    [Test]
    public void TryParse_SubscribeWithLastSeqAndEpoch_IsARecoveryRequest()
    {
        Assert.That(Parse("""{"type":"subscribe","guildId":"1","lastSeq":17,"epoch":"abc"}""", out var m, out _), Is.True);
        Assert.That(m, Is.EqualTo(new ClientMessage(ClientMessageType.Subscribe, null, "1", 17, "abc")));
    }

    [TestCase("""{"type":"subscribe","guildId":"1","lastSeq":17}""")]
    [TestCase("""{"type":"subscribe","guildId":"1","epoch":"abc"}""")]
    [TestCase("""{"type":"subscribe","guildId":"1","lastSeq":-1,"epoch":"abc"}""")]
    [TestCase("""{"type":"subscribe","guildId":"1","lastSeq":1.5,"epoch":"abc"}""")]
    [TestCase("""{"type":"subscribe","guildId":"1","lastSeq":"17","epoch":"abc"}""")]
    [TestCase("""{"type":"subscribe","guildId":"1","lastSeq":17,"epoch":5}""")]
    public void TryParse_HalfOrMalformedRecoveryRequest_InvalidMessage(string json)
    {
        Assert.That(Parse(json, out _, out var error), Is.False);
        Assert.That(error.Code, Is.EqualTo(LiveErrorCodes.InvalidMessage));
    }

    [Test]
    public void TryParse_NullRecoveryFields_AreAFreshSubscribe()
    {
        Assert.That(Parse("""{"type":"subscribe","guildId":"1","lastSeq":null,"epoch":null}""", out var m, out _), Is.True);
        Assert.That(m.LastSeq, Is.Null);
    }

    [Test]
    public void TryParse_EscapedStrings_AreDecoded()
    {
        Assert.That(Parse("""{"type":"auth","token":"a\u0062c"}""", out var m, out _), Is.True);
        Assert.That(m.Token, Is.EqualTo("abc"));
    }

    [TestCase("", LiveErrorCodes.InvalidJson)]
    [TestCase("   ", LiveErrorCodes.InvalidJson)]
    [TestCase("{", LiveErrorCodes.InvalidJson)]
    [TestCase("{\"type\":\"ping\",}", LiveErrorCodes.InvalidJson)]
    [TestCase("{'type':'ping'}", LiveErrorCodes.InvalidJson)]
    [TestCase("\"ping\"", LiveErrorCodes.InvalidMessage)]
    [TestCase("null", LiveErrorCodes.InvalidMessage)]
    [TestCase("{}", LiveErrorCodes.InvalidMessage)]
    [TestCase("{\"type\":null}", LiveErrorCodes.InvalidMessage)]
    [TestCase("{\"type\":[\"auth\"]}", LiveErrorCodes.InvalidMessage)]
    [TestCase("{\"type\":\"subscribe\"}", LiveErrorCodes.InvalidMessage)]
    [TestCase("{\"type\":\"subscribe\",\"guildId\":null}", LiveErrorCodes.InvalidMessage)]
    [TestCase("{\"type\":\"auth\",\"token\":{}}", LiveErrorCodes.InvalidMessage)]
    [TestCase("{\"type\":\"PING\"}", LiveErrorCodes.UnknownType)]
    public void TryParse_Invalid_ReturnsCode(string json, string code)
    {
        Assert.That(Parse(json, out _, out var error), Is.False);
        Assert.That(error.Code, Is.EqualTo(code));
    }

    [Test]
    public void TryParse_InvalidUtf8_InvalidJson()
    {
        byte[] bytes = [.. "{\"type\":\"auth\",\"token\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.That(ClientMessageParser.TryParse(bytes, out _, out var error), Is.False);
        Assert.That(error.Code, Is.EqualTo(LiveErrorCodes.InvalidJson));
    }

    [Test]
    public void TryParse_DeepNesting_InvalidJson_NotAStackOverflow()
    {
        var deep = "{\"type\":\"ping\",\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}";
        Assert.That(Parse(deep, out _, out var error), Is.False);
        Assert.That(error.Code, Is.EqualTo(LiveErrorCodes.InvalidJson));
    }

    private static bool Parse(string json, out ClientMessage message, out ProtocolError error) =>
        ClientMessageParser.TryParse(Encoding.UTF8.GetBytes(json), out message, out error);
}
