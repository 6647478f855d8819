using System.Text.Json;
using LiveUpdates.Internal.Protocol;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class EnvelopeSerializerTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    [Test]
    public void SerializeEvent_WritesTheEnvelopeInCamelCase()
    {
        var frame = Envelope("moderation:rule_created", "123", new { RuleId = 5, IsEnabled = true }, 1700000000123, seq: 9, epoch: "e1");

        using var doc = JsonDocument.Parse(frame);
        var root = doc.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.EnumerateObject().Select(p => p.Name), Is.EqualTo(new[] { "event", "guildId", "data", "timestamp", "seq", "epoch" }));
            Assert.That(root.GetProperty("seq").GetInt64(), Is.EqualTo(9));
            Assert.That(root.GetProperty("epoch").GetString(), Is.EqualTo("e1"));
            Assert.That(root.GetProperty("event").GetString(), Is.EqualTo("moderation:rule_created"));
            Assert.That(root.GetProperty("guildId").GetString(), Is.EqualTo("123"));
            Assert.That(root.GetProperty("data").GetProperty("ruleId").GetInt32(), Is.EqualTo(5));
            Assert.That(root.GetProperty("data").GetProperty("isEnabled").GetBoolean(), Is.True);
            Assert.That(root.GetProperty("timestamp").GetInt64(), Is.EqualTo(1700000000123));
        });
    }

    [Test]
    public void SerializeEvent_NullData_WritesEmptyObject()
    {
        var frame = Envelope("a:b", "1", null);
        Assert.That(JsonDocument.Parse(frame).RootElement.GetProperty("data").GetRawText(), Is.EqualTo("{}"));
    }

    [Test]
    public void SerializeEvent_DataThatCannotBeSerialized_ThrowsArgumentException_AndTheNextCallStillWorks()
    {
        var cyclic = new Node();
        cyclic.Next = cyclic;

        var ex = Assert.Throws<ArgumentException>(() => EnvelopeSerializer.SerializeData("a:b", cyclic, Web));
        Assert.That(ex!.ParamName, Is.EqualTo("data"));

        var frame = Envelope("a:b", "1", new { ok = true });
        Assert.That(JsonDocument.Parse(frame).RootElement.GetProperty("data").GetProperty("ok").GetBoolean(), Is.True);
    }

    [Test]
    public void SerializeEvent_IsIndependentOfLaterChangesToTheData()
    {
        var data = new Dictionary<string, int> { ["n"] = 1 };
        var payload = EnvelopeSerializer.SerializeData("a:b", data, Web);
        data["n"] = 2;
        var frame = EnvelopeSerializer.SerializeEvent("a:b", "1", payload.Span, 0, 1, "e", out _);
        Assert.That(JsonDocument.Parse(frame).RootElement.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public void SerializeEvent_SaysWhereTheDataStandsInTheEnvelope()
    {
        var payload = EnvelopeSerializer.SerializeData("a:b", new { text = "héllo \"quoted\"", n = 42 }, Web);
        var frame = EnvelopeSerializer.SerializeEvent("a:b", "123", payload.Span, 1_700_000_000_000, 7, "epoch", out var offset);
        Assert.That(frame.AsSpan(offset, payload.Length).SequenceEqual(payload.Span), Is.True, "the history keeps this slice instead of a second copy");
    }

    [Test]
    public void ControlFrames_HaveTheSeedsShape()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Json(ServerMessages.Pong), Is.EqualTo("""{"event":"pong","data":{}}"""));
            Assert.That(Json(ServerMessages.Subscribed("9", "e1", 4, null)), Is.EqualTo("""{"event":"subscribed","guildId":"9","data":{"guildId":"9","epoch":"e1","seq":4}}"""));
            Assert.That(Json(ServerMessages.Subscribed("9", "e1", 4, false)), Is.EqualTo("""{"event":"subscribed","guildId":"9","data":{"guildId":"9","epoch":"e1","seq":4,"recovered":false}}"""));
            Assert.That(Json(ServerMessages.Unsubscribed("9")), Is.EqualTo("""{"event":"unsubscribed","guildId":"9","data":{"guildId":"9"}}"""));
            Assert.That(Json(ServerMessages.Error("FORBIDDEN", "No access to this guild.", "9")), Is.EqualTo("""{"event":"error","guildId":"9","data":{"message":"No access to this guild.","code":"FORBIDDEN"}}"""));
            Assert.That(Json(ServerMessages.Authenticated("u", ["1", "2"])), Is.EqualTo("""{"event":"authenticated","data":{"userId":"u","guilds":["1","2"]}}"""));
        });
    }

    private static byte[] Envelope(string eventName, string guildId, object? data, long timestamp = 0, long seq = 1, string epoch = "e") =>
        EnvelopeSerializer.SerializeEvent(eventName, guildId, EnvelopeSerializer.SerializeData(eventName, data, Web).Span, timestamp, seq, epoch, out _);

    private static string Json(byte[] frame) => System.Text.Encoding.UTF8.GetString(frame);

    private sealed class Node
    {
        public Node? Next { get; set; }
    }
}
