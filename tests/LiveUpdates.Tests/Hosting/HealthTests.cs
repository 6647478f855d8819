using LiveUpdates.Brokers;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Tests.Hosting;

/// <summary>Health must tell the truth: green only while broadcasts are really delivered.</summary>
[TestFixture]
[NonParallelizable] // hosts set the process-wide Broadcast facade
public sealed class HealthTests
{
    private const string GuildA = "111111111111111111";

    [Test]
    public async Task GetHealth_RunningAndIdle_Healthy_Stopped_Unhealthy()
    {
        var server = await TestServer.StartAsync();
        var running = server.Manager.GetHealth();
        await server.DisposeAsync();
        var stopped = server.Manager.GetHealth();

        Assert.Multiple(() =>
        {
            Assert.That(running.Status, Is.EqualTo(LiveUpdatesHealthStatus.Healthy), running.Description);
            Assert.That(running.IsListening, Is.True);
            Assert.That(running.DispatchLag, Is.EqualTo(TimeSpan.Zero));
            Assert.That(stopped.Status, Is.EqualTo(LiveUpdatesHealthStatus.Unhealthy));
            Assert.That(stopped.Description, Does.Contain("not running"));
        });
    }

    [Test]
    public async Task AStalledDispatchLoop_TurnsTheHealthCheckUnhealthy_AndBackToHealthyOnceItMovesAgain()
    {
        var broker = new StallingBroker();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IBroker>(broker);
        builder.Services.AddLiveUpdates(o =>
        {
            o.Host = "127.0.0.1";
            o.Port = Ports.GetFree();
            o.AuthSecret = TestTokens.Secret;
            o.HealthDispatchLagThreshold = TimeSpan.FromMilliseconds(300);
        }).AddHealthCheck();
        using var host = builder.Build();
        await host.StartAsync();
        var manager = host.Services.GetRequiredService<WebSocketManager>();
        var checks = host.Services.GetRequiredService<HealthCheckService>();
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LiveUpdatesOptions>>().Value;
        await using var client = await TestClient.ConnectAsync(new Uri($"ws://127.0.0.1:{options.Port}/"));
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(TestTokens.Create("1", [GuildA]));
        await client.SubscribeAsync(GuildA);

        var before = await checks.CheckHealthAsync();

        // A publish that hangs holds the dispatch loop (a permission re-check no longer runs on it); a broadcast then waits behind it.
        broker.Stall();
        manager.Broadcast(GuildA, LiveEvents.Moderation.RuleCreated);
        await Wait.ForAsync(broker.Stalled, "the loop is held");
        manager.Broadcast(GuildA, LiveEvents.Moderation.RuleCreated);
        HealthReport? stalled = null;
        await Wait.UntilAsync(
            () => (stalled = checks.CheckHealthAsync().GetAwaiter().GetResult()).Status == HealthStatus.Unhealthy,
            "the health check turns unhealthy");

        broker.Release();
        await client.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        await client.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        HealthReport? after = null;
        await Wait.UntilAsync(() => (after = checks.CheckHealthAsync().GetAwaiter().GetResult()).Status == HealthStatus.Healthy, "healthy again");
        await host.StopAsync();

        var entry = stalled!.Entries["liveupdates"];
        Assert.Multiple(() =>
        {
            Assert.That(before.Status, Is.EqualTo(HealthStatus.Healthy), before.Entries["liveupdates"].Description);
            Assert.That(entry.Description, Does.Contain("no progress"));
            Assert.That((int)entry.Data["dispatchQueueLength"], Is.GreaterThan(0));
            Assert.That(after!.Status, Is.EqualTo(HealthStatus.Healthy));
        });
    }
}
