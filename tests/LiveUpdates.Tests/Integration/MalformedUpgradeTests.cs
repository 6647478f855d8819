using System.Net.Sockets;
using System.Text;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>Malformed WebSocket upgrades get a plain HTTP refusal, and a well-behaved client is unaffected.</summary>
[TestFixture]
public sealed class MalformedUpgradeTests
{
    private const string Key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    [TestCase("Sec-WebSocket-Version: 8\r\n" + Key, "426", "Sec-WebSocket-Version: 13")]
    [TestCase(Key, "426", "Sec-WebSocket-Version: 13")]
    [TestCase("Sec-WebSocket-Version: 13\r\n", "400", null)]
    [TestCase("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: not-a-key\r\n", "400", null)]
    public async Task AMalformedUpgrade_IsRefusedWithAStatus_NotAnEmpty200(string headers, string status, string? header)
    {
        await using var server = await TestServer.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", server.Options.Port);
        var stream = tcp.GetStream();
        var request = $"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{headers}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));

        var response = await Wait.ForAsync(ReadHeadAsync(stream), "the response head");
        await using var client = await server.ConnectAuthenticatedAsync("1", ["1"], "1");

        Assert.Multiple(() =>
        {
            Assert.That(response, Does.StartWith($"HTTP/1.1 {status}"), response);
            if (header is not null)
            {
                Assert.That(response, Does.Contain(header));
            }
        });
    }

    [Test]
    public async Task RequestsThatAnnounceABodyAndTrickleIt_DoNotHoldUpNewConnections()
    {
        await using var server = await TestServer.StartAsync();
        var attackers = new List<TcpClient>();
        try
        {
            for (var i = 0; i < 5; i++)
            {
                var tcp = new TcpClient();
                attackers.Add(tcp);
                await tcp.ConnectAsync("127.0.0.1", server.Options.Port);
                await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nx"));
                await Wait.ForAsync(ReadHeadAsync(tcp.GetStream()), "the refusal"); // 426, with the body never sent
            }

            // A dashboard must still open and authenticate promptly (generous bound for a loaded 2-core machine).
            var opened = System.Diagnostics.Stopwatch.StartNew();
            await using var client = await Wait.ForAsync(server.ConnectAuthenticatedAsync("1", ["1"], "1"), "a new dashboard", TimeSpan.FromSeconds(2));
            TestContext.Out.WriteLine($"open + auth + subscribe with 5 trickling requests: {opened.ElapsedMilliseconds} ms");
        }
        finally
        {
            foreach (var tcp in attackers)
            {
                tcp.Dispose();
            }
        }
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }
}
