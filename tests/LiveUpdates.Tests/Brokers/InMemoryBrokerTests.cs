using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Brokers;

/// <summary>The broker specification against the in-memory broker, and what is particular to it: streams that expire.</summary>
[TestFixture]
public sealed class InMemoryBrokerTests : BrokerSpecification
{
    private FakeTimeProvider _clock = new();

    [SetUp]
    public void NewClock() => _clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

    protected override IBroker CreateBroker(int historyCapacity, TimeSpan historyMaxAge) => new InMemoryBroker(historyCapacity, historyMaxAge, _clock);

    protected override Task AdvanceAsync(TimeSpan time)
    {
        _clock.Advance(time);
        return Task.CompletedTask;
    }

    [Test]
    public async Task AnIdleUnwatchedStream_IsRemovedAfterHistoryMaxAge_AWatchedOneStays()
    {
        var (broker, _) = await StartAsync(historyMaxAge: TimeSpan.FromMinutes(1));
        var memory = (InMemoryBroker)broker;
        await PublishAsync(broker, GuildA);
        await PublishAsync(broker, GuildB);
        await broker.SubscribeAsync(GuildB, CancellationToken.None);

        _clock.Advance(TimeSpan.FromSeconds(30));
        Assert.That(memory.StreamCount, Is.EqualTo(2), "not yet: younger than HistoryMaxAge");

        _clock.Advance(TimeSpan.FromSeconds(45));
        Assert.That(memory.StreamCount, Is.EqualTo(1), "guild A's stream is gone, watched guild B's stays");

        await broker.UnsubscribeAsync(GuildB, CancellationToken.None);
        _clock.Advance(TimeSpan.FromSeconds(75));
        Assert.That(memory.StreamCount, Is.Zero, "guild B's stream goes once it has been unwatched for HistoryMaxAge");
    }

    [Test]
    public async Task ARemovedStream_NeverGivesItsSequenceNumbersOutAgain()
    {
        var (broker, _) = await StartAsync(historyMaxAge: TimeSpan.FromMinutes(1));
        StreamPosition last = default;
        for (var i = 0; i < 3; i++)
        {
            last = await PublishAsync(broker, GuildA);
        }

        await PublishAsync(broker, GuildB); // other guilds publish too: the numbers go on above every stream's

        _clock.Advance(TimeSpan.FromMinutes(2));
        Assert.That(((InMemoryBroker)broker).StreamCount, Is.Zero);

        var reborn = await PublishAsync(broker, GuildA);
        var behind = await broker.ReadSinceAsync(GuildA, last with { Seq = last.Seq - 1 }, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(reborn.Seq, Is.GreaterThan(last.Seq), "no number of the removed stream is given out again");
            Assert.That(behind.Recovered, Is.False, "a client that missed an event of the removed stream must refetch");
        });
    }
}
