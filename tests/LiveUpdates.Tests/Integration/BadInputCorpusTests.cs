using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Hostile and broken input over real sockets. Each case states what the server answers; after each, a well-behaved
/// client still connects, authenticates, subscribes and receives an event.
/// </summary>
[TestFixture]
public sealed class BadInputCorpusTests
{
    private const string Guild = "111111111111111111";

    private static IEnumerable<TestCaseData> Corpus()
    {
        static TestCaseData Text(string name, string text, string expected) => new TestCaseData(name, Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, expected).SetName("BadInput_" + name);
        static TestCaseData Bytes(string name, byte[] bytes, WebSocketMessageType type, string expected) => new TestCaseData(name, bytes, type, expected).SetName("BadInput_" + name);

        yield return Text("TruncatedJson", """{"type":"auth","tok""", LiveErrorCodes.InvalidJson);
        yield return Text("TrailingComma", """{"type":"ping",}""", LiveErrorCodes.InvalidJson);
        yield return Text("SingleQuotes", "{'type':'ping'}", LiveErrorCodes.InvalidJson);
        yield return Text("TwoObjects", """{"type":"ping"}{"type":"ping"}""", LiveErrorCodes.InvalidJson);
        yield return Text("EmptyFrame", "", LiveErrorCodes.InvalidJson);
        yield return Text("JsonNull", "null", LiveErrorCodes.InvalidMessage);
        yield return Text("JsonArray", """[{"type":"ping"}]""", LiveErrorCodes.InvalidMessage);
        yield return Text("JsonString", "\"ping\"", LiveErrorCodes.InvalidMessage);
        yield return Text("TypeNumber", """{"type":1}""", LiveErrorCodes.InvalidMessage);
        yield return Text("TypeObject", """{"type":{"a":1}}""", LiveErrorCodes.InvalidMessage);
        yield return Text("TypeMissing", """{"token":"x"}""", LiveErrorCodes.InvalidMessage);
        yield return Text("TokenNumber", """{"type":"auth","token":123}""", LiveErrorCodes.InvalidMessage);
        yield return Text("TokenArray", """{"type":"auth","token":["a"]}""", LiveErrorCodes.InvalidMessage);
        yield return Text("TokenNull", """{"type":"auth","token":null}""", LiveErrorCodes.InvalidMessage);
        yield return Text("GuildIdNumber", """{"type":"subscribe","guildId":111111111111111111}""", LiveErrorCodes.InvalidMessage);
        yield return Text("GuildIdObject", """{"type":"unsubscribe","guildId":{}}""", LiveErrorCodes.InvalidMessage);
        yield return Text("LastSeqString", """{"type":"subscribe","guildId":"1","lastSeq":"5","epoch":"e"}""", LiveErrorCodes.InvalidMessage);
        yield return Text("EpochNumber", """{"type":"subscribe","guildId":"1","lastSeq":5,"epoch":5}""", LiveErrorCodes.InvalidMessage);
        yield return Text("UnknownType", """{"type":"drop_tables"}""", LiveErrorCodes.UnknownType);
        yield return Text("ControlCharactersInToken", "{\"type\":\"auth\",\"token\":\"\\u0000\\u0001\\u001f\\u007f\"}", LiveErrorCodes.TokenInvalid);
        yield return Text("RawControlCharacterInString", "{\"type\":\"auth\",\"token\":\"a\u0001b\"}", LiveErrorCodes.InvalidJson);
        yield return Text("LoneSurrogateEscape", """{"type":"auth","token":"\ud800"}""", LiveErrorCodes.InvalidJson);
        yield return Text("HugeToken30KiB", "{\"type\":\"auth\",\"token\":\"" + new string('A', 30 * 1024) + "\"}", LiveErrorCodes.TokenInvalid);
        yield return Text("DeepNesting", "{\"type\":\"ping\",\"x\":" + new string('[', 5000) + new string(']', 5000) + "}", LiveErrorCodes.InvalidJson);
        yield return Text("GuildIdWithInjection", """{"type":"subscribe","guildId":"1; DROP TABLE"}""", LiveErrorCodes.AuthRequired);
        yield return Bytes("BinaryFrame", [0x00, 0xFF, 0x10], WebSocketMessageType.Binary, LiveErrorCodes.UnsupportedFrame);
        yield return Bytes("InvalidUtf8", [(byte)'{', 0xC3, 0x28, (byte)'}'], WebSocketMessageType.Text, "close:InvalidPayloadData");
        yield return Bytes("OneMiBFrame", Encoding.UTF8.GetBytes("{\"type\":\"auth\",\"token\":\"" + new string('x', 1024 * 1024) + "\"}"), WebSocketMessageType.Text, "close:MessageTooBig");
        yield return Bytes("OneMiBBinary", new byte[1024 * 1024], WebSocketMessageType.Binary, "close:MessageTooBig");
    }

    [TestCaseSource(nameof(Corpus))]
    public async Task BadInput_IsAnsweredWithItsCode_AndTheServerStillServesOthers(string name, byte[] input, WebSocketMessageType type, string expected)
    {
        await using var server = await TestServer.StartAsync();
        await using var attacker = await server.ConnectAsync();
        await attacker.ExpectAsync("connected");

        await attacker.SendRawAsync(input, type);

        string outcome;
        if (expected.StartsWith("close:", StringComparison.Ordinal))
        {
            // Either the error frame and then the close, or (invalid UTF-8) the close straight from the WebSocket layer.
            var (status, _) = await Wait.ForAsync(attacker.Closed, $"{name}: close");
            outcome = $"close:{status}";
        }
        else
        {
            var reply = await attacker.ExpectAsync("error");
            outcome = reply.GetProperty("data").GetProperty("code").GetString()!;
            await attacker.SendAsync(new { type = "ping" });
            await attacker.ExpectAsync("pong"); // the attacker's own connection stays usable
        }

        TestContext.Out.WriteLine($"{name}: {outcome}");
        Assert.That(outcome, Is.EqualTo(expected));
        await AssertServerStillServesAsync(server);
    }

    [Test]
    public async Task SubscribeFlood_ClosesOnlyTheFlooder()
    {
        await using var server = await TestServer.StartAsync();
        await using var flooder = await server.ConnectAuthenticatedAsync("1", [Guild]);
        for (var i = 0; i < 50; i++)
        {
            try
            {
                await flooder.SendAsync(new { type = "subscribe", guildId = Guild });
            }
            catch (Exception) when (flooder.Closed.IsCompleted)
            {
                break;
            }
        }

        var (status, reason) = await Wait.ForAsync(flooder.Closed, "flooder closed");
        Assert.That((status, reason), Is.EqualTo(((WebSocketCloseStatus?)WebSocketCloseStatus.PolicyViolation, (string?)"RATE_LIMITED")));
        await AssertServerStillServesAsync(server);
    }

    [Test]
    public async Task ConnectionFloodFromOneAddress_IsCappedAt429_AndTheServerStillServesOthersAfterwards()
    {
        await using var server = await TestServer.StartAsync(o => o.MaxConnectionsPerAddress = 20);
        var sockets = new List<ClientWebSocket>();
        var refused = 0;
        for (var i = 0; i < 40; i++)
        {
            var socket = new ClientWebSocket();
            socket.Options.CollectHttpResponseDetails = true;
            try
            {
                await socket.ConnectAsync(server.Uri, CancellationToken.None).WaitAsync(Wait.Default);
                sockets.Add(socket);
            }
            catch (WebSocketException)
            {
                Assert.That(socket.HttpStatusCode, Is.EqualTo(System.Net.HttpStatusCode.TooManyRequests));
                refused++;
                socket.Dispose();
            }
        }

        Assert.That((sockets.Count, refused), Is.EqualTo((20, 20)));
        foreach (var socket in sockets)
        {
            socket.Abort();
            socket.Dispose();
        }

        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 0, "flood connections gone");
        await AssertServerStillServesAsync(server);
    }

    [Test]
    public async Task ClientThatNeverAuthenticates_IsClosedAfterTheAuthTimeout()
    {
        await using var server = await TestServer.StartAsync(o =>
        {
            o.AuthTimeout = TimeSpan.FromMilliseconds(200);
            o.LivenessCheckInterval = TimeSpan.FromMilliseconds(50);
        });
        await using var lurker = await server.ConnectAsync();
        await lurker.ExpectAsync("connected");

        await lurker.ExpectErrorAsync(LiveErrorCodes.AuthTimeout);
        var (status, reason) = await Wait.ForAsync(lurker.Closed, "lurker closed");
        Assert.That((status, reason), Is.EqualTo(((WebSocketCloseStatus?)WebSocketCloseStatus.PolicyViolation, (string?)"AUTH_TIMEOUT")));
        await AssertServerStillServesAsync(server);
    }

    private static async Task AssertServerStillServesAsync(TestServer server)
    {
        await using var good = await server.ConnectAuthenticatedAsync("2", [Guild], Guild);
        server.Manager.Broadcast(Guild, LiveEvents.Tags.TagCreated, new { ok = true });
        var envelope = await good.ExpectAsync(LiveEvents.Tags.TagCreated);
        Assert.That(envelope.GetProperty("data").GetProperty("ok").GetBoolean(), Is.True);
    }
}
