using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>The server's System.Diagnostics.Metrics instruments, read with a real MeterListener.</summary>
[TestFixture]
public sealed class MetricsTests
{
    private const string Guild = "111111111111111111";

    [Test]
    public async Task Instruments_CountConnectionsEventsAuthFailuresAndDisconnectReasons()
    {
        await using var server = await TestServer.StartAsync();
        var totals = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == server.Manager.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $"|{tag.Key}={tag.Value}";
            }

            totals.AddOrUpdate(key, value, (_, old) => old + value);
        });
        listener.Start();

        var a = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);
        await using var b = await server.ConnectAuthenticatedAsync("2", [Guild], Guild);
        await b.SendAsync(new { type = "auth", token = "garbage" });
        await b.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
        server.Manager.Broadcast(Guild, LiveEvents.Tags.TagCreated);
        server.Manager.Broadcast(Guild, LiveEvents.Tags.TagDeleted);
        await a.ExpectAsync(LiveEvents.Tags.TagCreated);
        await a.ExpectAsync(LiveEvents.Tags.TagDeleted);

        await b.ExpectAsync(LiveEvents.Tags.TagCreated);
        await b.ExpectAsync(LiveEvents.Tags.TagDeleted);
        listener.RecordObservableInstruments();
        await a.DisposeAsync();
        await Wait.UntilAsync(() => server.Manager.ConnectionCount == 1, "client a gone");

        Assert.Multiple(() =>
        {
            Assert.That(totals.GetValueOrDefault("liveupdates.connections"), Is.EqualTo(1), "two opened, one closed");
            Assert.That(totals.GetValueOrDefault("liveupdates.subscriptions"), Is.EqualTo(1));
            Assert.That(totals.GetValueOrDefault("liveupdates.events.broadcast"), Is.EqualTo(2));
            Assert.That(totals.GetValueOrDefault("liveupdates.events.delivered"), Is.EqualTo(4));
            Assert.That(totals.GetValueOrDefault("liveupdates.auth.failures|code=TOKEN_INVALID"), Is.EqualTo(1));
            Assert.That(totals.GetValueOrDefault("liveupdates.disconnects|reason=CLIENT_CLOSED"), Is.EqualTo(1));
            Assert.That(totals.ContainsKey("liveupdates.send_queue.depth"), Is.True, "queue depth is observable");
        });
    }

    [Test]
    public async Task Histograms_DeliveryLatencyPerEventWritten_AndConnectionDurationByReason()
    {
        await using var server = await TestServer.StartAsync();
        var latencies = new ConcurrentQueue<double>();
        var durations = new ConcurrentQueue<(double Seconds, string? Reason)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == server.Manager.Meter && instrument is Histogram<double>)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "liveupdates.delivery.latency")
            {
                latencies.Enqueue(value);
            }
            else if (instrument.Name == "liveupdates.connection.duration")
            {
                string? reason = null;
                foreach (var tag in tags)
                {
                    reason = tag.Key == "reason" ? tag.Value as string : reason;
                }

                durations.Enqueue((value, reason));
            }
        });
        listener.Start();

        var client = await server.ConnectAuthenticatedAsync("1", [Guild], Guild);
        for (var i = 0; i < 3; i++)
        {
            server.Manager.Broadcast(Guild, LiveEvents.Tags.TagCreated);
            await client.ExpectAsync(LiveEvents.Tags.TagCreated);
        }

        await client.DisposeAsync();
        await Wait.UntilAsync(() => !durations.IsEmpty, "the connection's duration recorded");

        Assert.Multiple(() =>
        {
            Assert.That(latencies, Has.Count.EqualTo(3), "one latency per event written");
            Assert.That(latencies.All(l => l is >= 0 and < 10_000), Is.True, string.Join(", ", latencies));
            Assert.That(durations.Single().Reason, Is.EqualTo("CLIENT_CLOSED"));
            Assert.That(durations.Single().Seconds, Is.GreaterThan(0).And.LessThan(60));
        });
    }
}
