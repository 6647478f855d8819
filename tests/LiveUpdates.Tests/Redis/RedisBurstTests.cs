using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Two instances on one real redis-server broadcasting a burst into one guild at once, larger than the stream's
/// <see cref="RedisBrokerOptions.HistoryCapacity"/> (the load tool's Redis scenario, smaller): nothing is lost in
/// Redis, so every client on either instance gets every event once, in stream order, and no refetch.
/// </summary>
[TestFixture]
public sealed class RedisBurstTests
{
    private const string G1 = RedisScaleOutTests.G1;

    private RedisServer _redis = null!;
    private readonly List<TestServer> _servers = [];
    private string _prefix = string.Empty;

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    [SetUp]
    public void NewPrefix() => _prefix = "burst-" + Guid.NewGuid().ToString("N");

    [TearDown]
    public async Task StopServers()
    {
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }

    // The position check (every PositionCheckInterval) reads the stream while pub/sub still brings the burst: it runs
    // every 100 ms here, so that it lands in the middle of the burst in every run, as it did in 1 of 3 load-tool runs.
    [TestCase(256, 1000)]
    [TestCase(8, 3000)]
    public async Task TwoInstances_BurstBeyondHistoryCapacity_IntoOneGuild_EveryClientGetsEveryEventOnce_InOrder_NoRefetch(int capacity, int perInstance)
    {
        await StartInstanceAsync(capacity);
        await StartInstanceAsync(capacity);
        var clients = new List<TestClient>();
        foreach (var server in _servers)
        {
            for (var k = 0; k < 3; k++)
            {
                clients.Add(await server.ConnectAuthenticatedAsync("u", [G1], G1));
            }
        }

        await Task.WhenAll(_servers.Select((server, origin) => Task.Run(() =>
        {
            for (var n = 0; n < perInstance; n++)
            {
                server.Manager.Broadcast(G1, LiveEvents.Moderation.RuleCreated, new { o = origin, n });
            }
        })));

        var total = 2 * perInstance;
        var received = await Task.WhenAll(clients.Select(c => ReceiveAsync(c, total)));
        for (var i = 0; i < clients.Count; i++)
        {
            var events = received[i];
            var refetches = events.Where(e => e.GetProperty("event").GetString() == "refetch").ToList();
            var ticks = events.Where(e => e.GetProperty("event").GetString() != "refetch").ToList();
            var seqs = ticks.Select(e => e.GetProperty("seq").GetInt64()).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(refetches, Is.Empty, $"client {i} (instance {i / 3}): no refetch, nothing was lost in Redis; got {string.Join(", ", refetches.Select(r => r.GetRawText()))}");
                Assert.That(seqs, Is.EqualTo(Enumerable.Range(1, total).Select(k => (long)k)), $"client {i} (instance {i / 3}): every position once, in stream order");
                for (var origin = 0; origin < 2; origin++)
                {
                    var ns = ticks.Where(e => e.GetProperty("data").GetProperty("o").GetInt32() == origin).Select(e => e.GetProperty("data").GetProperty("n").GetInt32());
                    Assert.That(ns, Is.EqualTo(Enumerable.Range(0, perInstance)), $"client {i}: instance {origin}'s events once each, in its order");
                }
            });
        }

        foreach (var client in clients)
        {
            await client.DisposeAsync();
        }
    }

    /// <summary>
    /// The load tool's loss, step by step: instance B's pub/sub is behind by more than the stream holds (its hand-over
    /// is held on the first message while the other instance publishes 40 more, capacity 8) when B's position check
    /// reads the stream. Pub/sub still brings every message in order (the subscription never failed): the check must
    /// not take the publications it has not brought yet for lost (a spurious refetch, and the backlog dropped).
    /// </summary>
    [Test]
    public async Task APositionCheck_WhilePubSubIsBehindByMoreThanTheStreamHolds_IsNoLoss_PubSubBringsEveryPublicationOnce()
    {
        const int Capacity = 8;
        const int Later = 40;
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var a = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = _prefix, HistoryCapacity = Capacity });
        await using var b = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = _prefix, HistoryCapacity = Capacity, PositionCheckInterval = TimeSpan.FromSeconds(1) }, null, null, clock);
        var onB = new HoldingHandler();
        await a.StartAsync(new HoldingHandler { Holding = false }, CancellationToken.None);
        await b.StartAsync(onB, CancellationToken.None);
        await b.SubscribeAsync(G1, CancellationToken.None);

        await a.PublishAsync(BrokerMessage.Event(G1, "t", Encoding.UTF8.GetBytes("0"), 0), CancellationToken.None);
        await Wait.ForAsync(onB.Entered.Task, "B's hand-over of the first publication");
        for (var n = 1; n <= Later; n++)
        {
            await a.PublishAsync(BrokerMessage.Event(G1, "t", Encoding.UTF8.GetBytes(n.ToString(System.Globalization.CultureInfo.InvariantCulture)), 0), CancellationToken.None);
        }

        clock.Advance(TimeSpan.FromSeconds(1)); // B's timer: the position check starts and waits for the feed
        onB.Release();
        await Wait.ForAsync(onB.AllOrLost(Later + 1), "every publication on B, or a loss");

        Assert.Multiple(() =>
        {
            Assert.That(onB.Lost, Is.Empty, "no stream loss: pub/sub brought everything");
            Assert.That(onB.Publications.Select(p => p.Position.Seq), Is.EqualTo(Enumerable.Range(1, Later + 1).Select(k => (long)k)), "every publication once, in order");
        });
    }

    /// <summary>A broker handler that holds the first publication until released, and records what it is given.</summary>
    private sealed class HoldingHandler : IBrokerHandler
    {
        private readonly ManualResetEventSlim _release = new(false);
        private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Holding { get; init; } = true;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<Publication> Publications { get; } = new();

        public ConcurrentQueue<StreamPosition> Lost { get; } = new();

        public void Release() => _release.Set();

        public async Task AllOrLost(int count)
        {
            while (Publications.Count < count && Lost.IsEmpty)
            {
                var signal = Volatile.Read(ref _signal);
                if (Publications.Count >= count || !Lost.IsEmpty)
                {
                    break;
                }

                await signal.Task;
            }
        }

        public void OnPublication(Publication publication)
        {
            if (Holding && Entered.TrySetResult())
            {
                _release.Wait(TimeSpan.FromSeconds(30));
            }

            Publications.Enqueue(publication);
            Signal();
        }

        public void OnStreamLost(string guildId, StreamPosition position)
        {
            Lost.Enqueue(position);
            Signal();
        }

        private void Signal() => Interlocked.Exchange(ref _signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    /// <summary>Reads events and refetch signals until <paramref name="count"/> events arrived.</summary>
    private static async Task<List<JsonElement>> ReceiveAsync(TestClient client, int count)
    {
        var events = new List<JsonElement>();
        var delivered = 0;
        while (delivered < count)
        {
            // Nothing for 30 s before every event arrived is a silent loss (the wait fails the test).
            var message = await client.NextAsync(TimeSpan.FromSeconds(30));
            var name = message.GetProperty("event").GetString();
            if (name == "refetch")
            {
                events.Add(message);
            }
            else if (message.TryGetProperty("seq", out _) && name is not ("subscribed" or "error"))
            {
                events.Add(message);
                delivered++;
            }
        }

        return events;
    }

    private async Task<TestServer> StartInstanceAsync(int capacity)
    {
        var broker = new RedisBroker(new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = _prefix, HistoryCapacity = capacity, PositionCheckInterval = TimeSpan.FromMilliseconds(100) });
        var server = await TestServer.StartAsync(broker: broker);
        _servers.Add(server);
        return server;
    }
}
