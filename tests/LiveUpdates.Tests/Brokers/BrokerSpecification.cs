using System.Collections.Concurrent;
using LiveUpdates.Brokers;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Brokers;

/// <summary>
/// What every <see cref="IBroker"/> must do, run against each implementation by a subclass: positions, order,
/// history since a position, eviction by count and by age, epochs and gaps, concurrency.
/// </summary>
public abstract class BrokerSpecification
{
    protected const string GuildA = "111111111111111111";
    protected const string GuildB = "222222222222222222";

    private readonly List<IBroker> _brokers = [];

    /// <summary>Creates a broker (not started) with the given history bounds.</summary>
    protected abstract IBroker CreateBroker(int historyCapacity, TimeSpan historyMaxAge);

    /// <summary>Lets <paramref name="time"/> pass for the broker (a fake clock advances; a real server waits).</summary>
    protected abstract Task AdvanceAsync(TimeSpan time);

    [TearDown]
    public async Task StopBrokers()
    {
        foreach (var broker in _brokers)
        {
            await broker.StopAsync(CancellationToken.None);
        }

        _brokers.Clear();
    }

    [Test]
    public async Task Publish_GivesConsecutivePositionsPerGuild_InOneEpoch()
    {
        var (broker, _) = await StartAsync();

        var a1 = await PublishAsync(broker, GuildA);
        var a2 = await PublishAsync(broker, GuildA);
        var b1 = await PublishAsync(broker, GuildB);
        var a3 = await PublishAsync(broker, GuildA);

        Assert.Multiple(() =>
        {
            Assert.That(new[] { a1.Seq, a2.Seq, a3.Seq }, Is.EqualTo(new long[] { a1.Seq, a1.Seq + 1, a1.Seq + 2 }));
            Assert.That(a2.Epoch, Is.EqualTo(a1.Epoch));
            Assert.That(a3.Epoch, Is.EqualTo(a1.Epoch));
            Assert.That(b1.Epoch, Is.Not.Empty);
        });
    }

    [Test]
    public async Task SubscribedGuild_EveryPublicationReachesTheHandler_InStreamOrder_WithItsPosition()
    {
        var (broker, handler) = await StartAsync();
        await broker.SubscribeAsync(GuildA, CancellationToken.None);

        var positions = new List<StreamPosition>();
        for (var i = 0; i < 20; i++)
        {
            positions.Add(await PublishAsync(broker, GuildA, $"{{\"n\":{i}}}"));
        }

        await Wait.UntilAsync(() => handler.For(GuildA).Count == 20, "20 publications delivered");
        var delivered = handler.For(GuildA);
        Assert.Multiple(() =>
        {
            Assert.That(delivered.Select(p => p.Position), Is.EqualTo(positions));
            Assert.That(delivered.Select(p => System.Text.Encoding.UTF8.GetString(p.Message.Data.Span)), Is.EqualTo(Enumerable.Range(0, 20).Select(i => $"{{\"n\":{i}}}")));
            Assert.That(delivered.All(p => p.Message.EventName == "moderation:rule_created"), Is.True);
        });
    }

    [Test]
    public async Task ReadSince_AFormerPosition_ReturnsEverythingAfterIt_InOrder()
    {
        var (broker, _) = await StartAsync();
        var first = await PublishAsync(broker, GuildA);
        for (var i = 0; i < 4; i++)
        {
            await PublishAsync(broker, GuildA);
        }

        var result = await broker.ReadSinceAsync(GuildA, first with { Seq = first.Seq + 1 }, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(result.Recovered, Is.True);
            Assert.That(result.Publications.Select(p => p.Position.Seq), Is.EqualTo(new[] { first.Seq + 2, first.Seq + 3, first.Seq + 4 }));
            Assert.That(result.Current, Is.EqualTo(first with { Seq = first.Seq + 4 }));
        });
    }

    [Test]
    public async Task ReadSince_TheCurrentPosition_RecoversNothing_WithoutAPosition_GivesOnlyTheCurrentOne()
    {
        var (broker, _) = await StartAsync();
        var last = await PublishAsync(broker, GuildA);

        var upToDate = await broker.ReadSinceAsync(GuildA, last, CancellationToken.None);
        var noPosition = await broker.ReadSinceAsync(GuildA, null, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(upToDate.Recovered, Is.True);
            Assert.That(upToDate.Publications, Is.Empty);
            Assert.That(noPosition.Recovered, Is.Null);
            Assert.That(noPosition.Publications, Is.Empty);
            Assert.That(noPosition.Current, Is.EqualTo(last));
        });
    }

    [Test]
    public async Task ReadSince_EvictedByCount_Refetch_ButTheOldestKeptStillRecovers()
    {
        var (broker, _) = await StartAsync(historyCapacity: 4);
        var positions = new List<StreamPosition>();
        for (var i = 0; i < 10; i++)
        {
            positions.Add(await PublishAsync(broker, GuildA));
        }

        var evicted = await broker.ReadSinceAsync(GuildA, positions[4], CancellationToken.None);
        var kept = await broker.ReadSinceAsync(GuildA, positions[5], CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(evicted.Recovered, Is.False, "the publication after it was evicted");
            Assert.That(evicted.Publications, Is.Empty);
            Assert.That(evicted.Current, Is.EqualTo(positions[9]));
            Assert.That(kept.Recovered, Is.True);
            Assert.That(kept.Publications.Select(p => p.Position), Is.EqualTo(positions[6..]));
        });
    }

    [Test]
    public async Task ReadSince_EvictedByAge_Refetch()
    {
        var (broker, _) = await StartAsync(historyMaxAge: TimeSpan.FromSeconds(2));
        var first = await PublishAsync(broker, GuildA);
        await PublishAsync(broker, GuildA);
        await broker.SubscribeAsync(GuildA, CancellationToken.None); // watched: the stream stays, its history expires

        await AdvanceAsync(TimeSpan.FromSeconds(3));
        var result = await broker.ReadSinceAsync(GuildA, first, CancellationToken.None);

        Assert.That(result.Recovered, Is.False);
        Assert.That(result.Publications, Is.Empty);
    }

    [Test]
    public async Task ReadSince_AnotherEpoch_Refetch()
    {
        var (broker, _) = await StartAsync();
        var first = await PublishAsync(broker, GuildA);
        await PublishAsync(broker, GuildA);

        var result = await broker.ReadSinceAsync(GuildA, first with { Epoch = "another-epoch" }, CancellationToken.None);

        Assert.That(result.Recovered, Is.False);
        Assert.That(result.Current.Epoch, Is.EqualTo(first.Epoch));
    }

    [Test]
    public async Task ReadSince_APositionFromTheFuture_Refetch()
    {
        var (broker, _) = await StartAsync();
        var last = await PublishAsync(broker, GuildA);

        var result = await broker.ReadSinceAsync(GuildA, last with { Seq = last.Seq + 5 }, CancellationToken.None);

        Assert.That(result.Recovered, Is.False);
    }

    [Test]
    public async Task AGap_TakesAPosition_IsDelivered_AndNobodyRecoversAcrossIt()
    {
        var (broker, handler) = await StartAsync();
        await broker.SubscribeAsync(GuildA, CancellationToken.None);
        var before = await PublishAsync(broker, GuildA);
        var gap = await broker.PublishAsync(BrokerMessage.Gap(GuildA, 0), CancellationToken.None);
        var after = await PublishAsync(broker, GuildA);

        await Wait.UntilAsync(() => handler.For(GuildA).Count == 3, "three publications delivered");
        var across = await broker.ReadSinceAsync(GuildA, before, CancellationToken.None);
        var past = await broker.ReadSinceAsync(GuildA, gap, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(gap.Seq, Is.EqualTo(before.Seq + 1));
            Assert.That(handler.For(GuildA)[1].Message.IsGap, Is.True);
            Assert.That(across.Recovered, Is.False, "the gap cannot be replayed");
            Assert.That(past.Recovered, Is.True, "after the gap the stream goes on");
            Assert.That(past.Publications.Select(p => p.Position), Is.EqualTo(new[] { after }));
        });
    }

    [Test]
    public async Task ConcurrentPublishers_EveryGuildGetsUniqueConsecutivePositions_DeliveredInOrder()
    {
        const int Threads = 4, PerThread = 250;
        var (broker, handler) = await StartAsync(historyCapacity: Threads * PerThread);
        await broker.SubscribeAsync(GuildA, CancellationToken.None);
        await broker.SubscribeAsync(GuildB, CancellationToken.None);

        var results = new ConcurrentBag<(string Guild, long Seq)>();
        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(async () =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                var guild = (t + i) % 2 == 0 ? GuildA : GuildB;
                results.Add((guild, (await PublishAsync(broker, guild)).Seq));
            }
        })));

        await Wait.UntilAsync(() => handler.For(GuildA).Count + handler.For(GuildB).Count == Threads * PerThread, "every publication delivered");
        foreach (var guild in new[] { GuildA, GuildB })
        {
            var seqs = results.Where(r => r.Guild == guild).Select(r => r.Seq).Order().ToList();
            var delivered = handler.For(guild).Select(p => p.Position.Seq).ToList();
            Assert.Multiple(() =>
            {
                Assert.That(seqs, Is.EqualTo(Enumerable.Range(0, seqs.Count).Select(k => seqs[0] + k)), $"{guild}: unique and consecutive");
                Assert.That(delivered, Is.EqualTo(seqs), $"{guild}: delivered once each, in order");
            });
        }

        var replay = await broker.ReadSinceAsync(GuildA, new StreamPosition(handler.For(GuildA)[0].Position.Seq, handler.For(GuildA)[0].Position.Epoch), CancellationToken.None);
        Assert.That(replay.Recovered, Is.True);
        Assert.That(replay.Publications.Select(p => p.Position.Seq), Is.EqualTo(handler.For(GuildA).Skip(1).Select(p => p.Position.Seq)));
    }

    [Test]
    public async Task ReadSince_ASubscribedGuild_AnswersOnlyOnceEveryPublicationUpToItsPositionReachedTheHandler()
    {
        // The seam between replay and live relies on it: a client joins the room right after this answer, so a
        // publication at or below the answered position that reached the server later would be lost to it.
        var (broker, handler) = await StartAsync();
        await broker.SubscribeAsync(GuildA, CancellationToken.None);
        var first = await PublishAsync(broker, GuildA);
        for (var i = 0; i < 49; i++)
        {
            await PublishAsync(broker, GuildA); // positions only: deliveries may still be on their way
        }

        var answer = await broker.ReadSinceAsync(GuildA, null, CancellationToken.None);
        var delivered = handler.For(GuildA).Select(p => p.Position.Seq).ToHashSet();

        Assert.That(answer.Current.Seq, Is.GreaterThanOrEqualTo(first.Seq + 49));
        Assert.That(Enumerable.Range(0, (int)(answer.Current.Seq - first.Seq + 1)).Select(k => first.Seq + k).Where(seq => !delivered.Contains(seq)), Is.Empty,
            "every publication up to the answered position was handed to the handler before the answer");
    }

    [Test]
    public async Task Subscriptions_AreCounted_OneUnsubscribeOfTwo_KeepsDelivering()
    {
        var (broker, handler) = await StartAsync();
        await broker.SubscribeAsync(GuildA, CancellationToken.None);
        await broker.SubscribeAsync(GuildA, CancellationToken.None);
        await broker.UnsubscribeAsync(GuildA, CancellationToken.None);

        var position = await PublishAsync(broker, GuildA);

        await Wait.UntilAsync(() => handler.For(GuildA).Any(p => p.Position == position), "the publication delivered while one subscription remains");
    }

    protected async Task<(IBroker Broker, RecordingHandler Handler)> StartAsync(int historyCapacity = 256, TimeSpan? historyMaxAge = null)
    {
        var broker = CreateBroker(historyCapacity, historyMaxAge ?? TimeSpan.FromMinutes(5));
        var handler = new RecordingHandler();
        await broker.StartAsync(handler, CancellationToken.None);
        _brokers.Add(broker);
        return (broker, handler);
    }

    protected static async Task<StreamPosition> PublishAsync(IBroker broker, string guildId, string data = "{}") =>
        await broker.PublishAsync(BrokerMessage.Event(guildId, "moderation:rule_created", System.Text.Encoding.UTF8.GetBytes(data), 1_700_000_000_000), CancellationToken.None);

    /// <summary>Records what a broker delivers, per guild, in arrival order.</summary>
    protected sealed class RecordingHandler : IBrokerHandler
    {
        private readonly ConcurrentDictionary<string, List<Publication>> _byGuild = new();

        public ConcurrentQueue<(string GuildId, StreamPosition Position)> Lost { get; } = new();

        public List<Publication> For(string guildId)
        {
            var list = _byGuild.GetOrAdd(guildId, _ => []);
            lock (list)
            {
                return [.. list];
            }
        }

        public void OnPublication(Publication publication)
        {
            var list = _byGuild.GetOrAdd(publication.GuildId, _ => []);
            lock (list)
            {
                list.Add(publication);
            }
        }

        public void OnStreamLost(string guildId, StreamPosition position) => Lost.Enqueue((guildId, position));
    }
}
