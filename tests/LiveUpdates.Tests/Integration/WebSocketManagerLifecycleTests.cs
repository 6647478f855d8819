using System.Diagnostics;
using System.Globalization;
using System.Net.WebSockets;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Integration;

/// <summary>Start, stop, liveness and timeouts of a real server.</summary>
[TestFixture]
public sealed class WebSocketManagerLifecycleTests
{
    private const string GuildA = "111111111111111111";

    [Test]
    public async Task Stop_EveryClientSees1001_AndTheProcessHoldsNoSocketOnThePort()
    {
        var server = await TestServer.StartAsync();
        var port = server.Options.Port;
        var clients = new List<TestClient>();
        for (var i = 0; i < 5; i++)
        {
            clients.Add(await server.ConnectAuthenticatedAsync(i.ToString(CultureInfo.InvariantCulture), [GuildA], GuildA));
        }

        var anonymous = await server.ConnectAsync();
        clients.Add(anonymous);
        Assert.That(SocketsOnPort(port), Is.Not.Empty, "sanity: the server's sockets are visible");

        var watch = Stopwatch.StartNew();
        await Wait.ForAsync(server.Manager.StopAsync(), "StopAsync", server.Options.ShutdownTimeout + TimeSpan.FromSeconds(5));
        watch.Stop();

        foreach (var client in clients)
        {
            var (status, reason) = await Wait.ForAsync(client.Closed, "client close");
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
            Assert.That(reason, Is.EqualTo("SERVER_SHUTDOWN"));
        }

        Assert.That(server.Manager.ConnectionCount, Is.Zero);
        await Wait.UntilAsync(() => SocketsOnPort(port).Count == 0, $"no socket on port {port} held by the process (held: {string.Join(", ", SocketsOnPort(port))})");
        Assert.That(watch.Elapsed, Is.LessThan(server.Options.ShutdownTimeout), "clients that answer the close are not waited out");

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    [Test]
    public async Task Stop_WithAClientThatNeverAnswers_AbortsItWithinTheShutdownTimeout()
    {
        var server = await TestServer.StartAsync(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(500));
        var port = server.Options.Port;
        var silent = await TestClient.ConnectAsync(server.Uri, startReading: false);
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 1, "connection registered");

        await Wait.ForAsync(server.Manager.StopAsync(), "StopAsync with a silent client", TimeSpan.FromSeconds(10));

        Assert.That(server.Manager.ConnectionCount, Is.Zero);
        await Wait.UntilAsync(() => SocketsOnPort(port).Count == 0, "no socket held on the port");
        silent.Socket.Abort();
        await silent.DisposeAsync();
    }

    [Test]
    public async Task Stop_IsIdempotent_AndStartAfterStopThrows()
    {
        var server = await TestServer.StartAsync();

        await Task.WhenAll(server.Manager.StopAsync(), server.Manager.StopAsync());
        await server.Manager.StopAsync();

        Assert.That(server.Manager.IsRunning, Is.False);
        Assert.ThrowsAsync<InvalidOperationException>(() => server.Manager.StartAsync());
    }

    [Test]
    public async Task Broadcast_BeforeStartAndAfterStop_DoesNothing_ButStillRejectsBadArguments()
    {
        var options = new LiveUpdatesOptions { Host = "127.0.0.1", Port = Ports.GetFree(), ConnectionTokenKey = TestTokens.Secret };
        var manager = new WebSocketManager(options);

        Assert.DoesNotThrow(() => manager.Broadcast(GuildA, "moderation:config_updated", new { a = 1 }));
        Assert.Throws<ArgumentException>(() => manager.Broadcast("not-a-guild", "moderation:config_updated"));

        await manager.StartAsync();
        await manager.StopAsync();

        Assert.DoesNotThrow(() => manager.Broadcast(GuildA, "moderation:config_updated", new { a = 1 }));
        Assert.Throws<ArgumentException>(() => manager.Broadcast(GuildA, "Moderation:ConfigUpdated"));
        Assert.That(manager.InMemoryBroker!.Published, Is.Zero);
    }

    [Test]
    public async Task Start_PortInUse_ThrowsAMessageThatNamesThePortAndTheSetting()
    {
        await using var first = await TestServer.StartAsync();
        var options = new LiveUpdatesOptions { Host = "127.0.0.1", Port = first.Options.Port, ConnectionTokenKey = TestTokens.Secret };
        await using var second = new WebSocketManager(options);

        var ex = Assert.ThrowsAsync<InvalidOperationException>(() => second.StartAsync());

        Assert.That(ex!.Message, Does.Contain(first.Options.Port.ToString(CultureInfo.InvariantCulture)).And.Contain("WS_PORT"));
    }

    [Test]
    public void Constructor_InvalidOptions_ThrowsWithEveryProblem()
    {
        var options = new LiveUpdatesOptions { Port = 0, ConnectionTokenKey = "short" };

        var ex = Assert.Throws<OptionsValidationException>(() => _ = new WebSocketManager(options));

        Assert.That(ex!.Failures, Has.Some.Contains("LiveUpdates:Port").And.Some.Contains("LIVEUPDATES_TOKEN_KEY"));
    }

    [Test]
    public async Task SilentClient_IsRemovedWithinIdleTimeoutPlusCloseTimeout_WhileAPingingClientStays()
    {
        var idle = TimeSpan.FromMilliseconds(600);
        var close = TimeSpan.FromMilliseconds(400);
        var check = TimeSpan.FromMilliseconds(100);
        await using var server = await TestServer.StartAsync(o =>
        {
            o.IdleTimeout = idle;
            o.CloseTimeout = close;
            o.LivenessCheckInterval = check;
        });
        await using var pinging = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);

        // A peer that vanished: it completed the handshake, then neither reads nor writes again.
        var vanished = await TestClient.ConnectAsync(server.Uri, startReading: false);
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 2, "both connected");
        var watch = Stopwatch.StartNew();

        using var stopPinging = new CancellationTokenSource();
        var pinger = Task.Run(async () =>
        {
            while (!stopPinging.IsCancellationRequested)
            {
                await pinging.SendAsync(new { type = "ping" });
                await Task.Delay(idle / 4);
            }
        });

        var bound = idle + close + check + check;
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 1, "silent client removed", bound + TimeSpan.FromSeconds(5));
        var removedAfter = watch.Elapsed;
        Assert.That(removedAfter, Is.GreaterThanOrEqualTo(idle), "not before the idle timeout");

        // The pinging client outlives several idle periods.
        await Task.Delay(idle * 2);
        await stopPinging.CancelAsync();
        await pinger;
        Assert.That(server.Manager.ConnectionCount, Is.EqualTo(1));
        Assert.That(pinging.Socket.State, Is.EqualTo(WebSocketState.Open));
        TestContext.Out.WriteLine($"silent client removed after {removedAfter.TotalMilliseconds:0} ms (documented bound {bound.TotalMilliseconds:0} ms)");
        vanished.Socket.Abort();
        await vanished.DisposeAsync();
    }

    [Test]
    public async Task ClientClose_IsAnsweredAndTheConnectionLeavesItsRooms()
    {
        await using var server = await TestServer.StartAsync();
        var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        Assert.That(server.Manager.RoomCount, Is.EqualTo(1));

        await client.Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None).WaitAsync(Wait.Default);

        Assert.That(client.Socket.State, Is.EqualTo(WebSocketState.Closed));
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 0 && server.Manager.RoomCount == 0, "connection and room removed");
        await client.DisposeAsync();
    }

    /// <summary>Sockets whose local port is <paramref name="port"/> and that a file descriptor still holds (inode != 0).</summary>
    private static List<string> SocketsOnPort(int port)
    {
        var held = new List<string>();
        foreach (var file in new[] { "/proc/self/net/tcp", "/proc/self/net/tcp6" })
        {
            if (!File.Exists(file))
            {
                continue;
            }

            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var cols = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var local = cols[1];
                var localPort = int.Parse(local[(local.IndexOf(':', StringComparison.Ordinal) + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (localPort == port && cols[9] != "0")
                {
                    held.Add($"{local} state {cols[3]} inode {cols[9]}");
                }
            }
        }

        return held;
    }

    [Test]
    public async Task Stop_RightAfterABurst_DeliversEveryAcceptedBroadcastBeforeThe1001Close()
    {
        const int Events = 500;
        var server = await TestServer.StartAsync();
        var client = await server.ConnectAuthenticatedAsync("1", [GuildA], GuildA);
        for (var i = 0; i < Events; i++)
        {
            server.Manager.Broadcast(GuildA, "moderation:infraction_created", new { n = i });
        }

        await server.DisposeAsync(); // StopAsync at once: most of the burst is still queued
        var (status, _) = await Wait.ForAsync(client.Closed, "closed by the stopping server");
        var received = client.TakeAllBuffered().Where(m => m.GetProperty("event").GetString() == "moderation:infraction_created").ToList();
        await client.DisposeAsync();

        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(WebSocketCloseStatus.EndpointUnavailable));
            Assert.That(received.Select(m => m.GetProperty("data").GetProperty("n").GetInt32()), Is.EqualTo(Enumerable.Range(0, Events)), "every accepted broadcast, in order, before the close");
        });
    }
}
