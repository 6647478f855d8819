using System.Net.WebSockets;
using System.Text;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>A burst the server itself cannot drain at once must not cut healthy dashboards.</summary>
[TestFixture]
public sealed class BurstTests
{
    private const string GuildA = "111111111111111111";
    private const string Event = "moderation:infraction_created";

    /// <summary>
    /// A burst the server itself cannot drain at once (many clients, events broadcast as fast as possible) reaches every
    /// healthy client complete and in order with the default options: the slow-consumer verdict is about the client's
    /// socket, not the server's own backlog.
    /// </summary>
    [Test]
    public async Task Burst_WithDefaults_ReachesEveryHealthyClient_CompleteAndInOrder()
    {
        // LIVEUPDATES_BURST_CLIENTS=1000 runs the size of the report (the suite runs 200).
        var clientCount = int.TryParse(Environment.GetEnvironmentVariable("LIVEUPDATES_BURST_CLIENTS"), out var c) ? c : 200;
        const int Events = 2000;
        // Defaults, except what the generator needs: its 200 clients share one loopback address.
        await using var server = await TestServer.StartAsync(o => o.MaxConnectionsPerAddress = clientCount);
        var readers = new List<Task<(long Last, int Count, bool InOrder, WebSocketCloseStatus? Close)>>();
        var clients = new List<TestClient>();
        for (var i = 0; i < clientCount; i++)
        {
            var client = await TestClient.ConnectAsync(server.Uri, startReading: false);
            clients.Add(client);
            await client.SendAsync(new { type = "auth", token = TestTokens.Create($"{i + 1}", [GuildA]) });
            await client.SendAsync(new { type = "subscribe", guildId = GuildA });
        }

        await Wait.UntilAsync(() => server.Manager.Connections.Count(c => c.SubscriptionCount == 1) == clientCount, "all subscribed", TimeSpan.FromSeconds(60));
        foreach (var client in clients)
        {
            readers.Add(Task.Run(() => CountEventsAsync(client.Socket, Events)));
        }

        var payload = new string('x', 150);
        for (var n = 0; n < Events; n++)
        {
            server.Manager.Broadcast(GuildA, Event, new { n, payload });
        }

        var started = System.Diagnostics.Stopwatch.StartNew();
        var results = await Wait.ForAsync(Task.WhenAll(readers), "every client's burst", TimeSpan.FromSeconds(120));
        TestContext.Out.WriteLine($"{clientCount} clients x {Events} events: {results.Count(r => r.Close is not null)} closed, {results.Sum(r => (long)r.Count)} of {(long)clientCount * Events} delivered in {started.Elapsed.TotalSeconds:0.0} s");
        Assert.Multiple(() =>
        {
            Assert.That(results.Count(r => r.Close is not null), Is.Zero, "no healthy client is closed: " + string.Join(",", results.Where(r => r.Close is not null).Select(r => r.Close).Distinct()));
            Assert.That(results.Select(r => r.Count), Is.All.EqualTo(Events), "every event reached every client");
            Assert.That(results.All(r => r.InOrder), Is.True, "in order");
        });
        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Test]
    public async Task EventsLargerThanTheQueuesByteBound_ReachHealthyClients_NoneIsCut()
    {
        await using var server = await TestServer.StartAsync();
        await using var first = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        await using var second = await server.ConnectAuthenticatedAsync("2", [GuildA], GuildA);
        var payload = new string('x', 1_200_000); // each event alone is over SendQueueMaxBytes (1 MiB)

        for (var n = 0; n < 3; n++)
        {
            server.Manager.Broadcast(GuildA, Event, new { n, payload });
        }

        foreach (var client in new[] { first, second })
        {
            for (var n = 0; n < 3; n++)
            {
                var message = await client.ExpectAsync(Event, TimeSpan.FromSeconds(30));
                Assert.That(message.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(n));
            }
        }

        Assert.That(server.Manager.ConnectionCount, Is.EqualTo(2), "no healthy client was cut");
    }

    /// <summary>Reads event frames until <paramref name="expected"/> arrived or the socket closes; checks seq 1, 2, 3… cheaply.</summary>
    private static async Task<(long Last, int Count, bool InOrder, WebSocketCloseStatus? Close)> CountEventsAsync(WebSocket socket, int expected)
    {
        var buffer = new byte[64 * 1024];
        var marker = "\"seq\":"u8.ToArray();
        long last = 0;
        var count = 0;
        var inOrder = true;
        var length = 0;
        while (count < expected)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (last, count, inOrder, socket.CloseStatus);
            }

            length += result.Count;
            if (!result.EndOfMessage)
            {
                continue;
            }

            var text = buffer.AsSpan(0, length);
            length = 0;
            if (text.IndexOf("\"event\""u8) < 0 || text.IndexOf(Encoding.UTF8.GetBytes(Event)) < 0)
            {
                continue; // authenticated, subscribed
            }

            var at = text.IndexOf(marker) + marker.Length;
            long seq = 0;
            while (at < text.Length && text[at] is >= (byte)'0' and <= (byte)'9')
            {
                seq = (seq * 10) + (text[at++] - '0');
            }

            inOrder &= seq == last + 1;
            last = seq;
            count++;
        }

        return (last, count, inOrder, null);
    }
}
