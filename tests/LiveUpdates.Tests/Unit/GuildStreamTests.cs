using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class GuildStreamTests
{
    private readonly FakeTimeProvider _clock = new();

    [Test]
    public void TryGetSince_WithinHistory_ReturnsTheFramesAfterLastSeq()
    {
        var stream = Stream(capacity: 10, events: 5);
        var into = new List<Publication>();

        Assert.That(TryGetSince(stream, 2, into), Is.True);
        Assert.That(into.Select(f => f.Position.Seq), Is.EqualTo(new long[] { 3, 4, 5 }));
    }

    [Test]
    public void TryGetSince_UpToDate_TrueAndEmpty_Future_False()
    {
        var stream = Stream(capacity: 10, events: 5);
        var into = new List<Publication>();

        Assert.That(TryGetSince(stream, 5, into), Is.True);
        Assert.That(into, Is.Empty);
        Assert.That(TryGetSince(stream, 6, into), Is.False);
    }

    [Test]
    public void TryGetSince_EvictedByCapacity_False_ButTheOldestKeptStillWorks()
    {
        var stream = Stream(capacity: 4, events: 10);
        var into = new List<Publication>();

        Assert.That(TryGetSince(stream, 5, into), Is.False, "seq 6 was evicted");
        Assert.That(TryGetSince(stream, 6, into), Is.True);
        Assert.That(into.Select(f => f.Position.Seq), Is.EqualTo(new long[] { 7, 8, 9, 10 }));
    }

    [Test]
    public void Prune_DropsFramesOlderThanMaxAge()
    {
        var stream = new GuildStream(10, 0, _clock.GetTimestamp());
        Append(stream, 3);
        _clock.Advance(TimeSpan.FromMinutes(2));
        Append(stream, 2);

        stream.Prune(_clock.GetTimestamp(), TimeSpan.FromMinutes(1), _clock);

        Assert.That(stream.Count, Is.EqualTo(2));
        Assert.That(TryGetSince(stream, 3, []), Is.True);
        Assert.That(TryGetSince(stream, 2, []), Is.False);
    }

    [Test]
    public void ZeroCapacity_KeepsNoHistory_ButCountsSeq()
    {
        var stream = Stream(capacity: 0, events: 3);
        Assert.That(stream.LastSeq, Is.EqualTo(3));
        Assert.That(TryGetSince(stream, 2, []), Is.False);
    }

    /// <summary>
    /// What the in-memory broker answers from the stream: what it holds after <paramref name="lastSeq"/>, judged by
    /// <see cref="HistoryResult.FromStream"/> (the rule moved there from GuildStream; these tests keep their assertions).
    /// </summary>
    private static bool TryGetSince(GuildStream stream, long lastSeq, List<Publication> into)
    {
        var retained = new List<Publication>();
        stream.CollectAfter(lastSeq, retained);
        var result = HistoryResult.FromStream(new StreamPosition(stream.LastSeq, "epoch"), new StreamPosition(lastSeq, "epoch"), retained);
        into.AddRange(result.Publications);
        return result.Recovered == true;
    }

    private GuildStream Stream(int capacity, int events)
    {
        var stream = new GuildStream(capacity, 0, _clock.GetTimestamp());
        Append(stream, events);
        return stream;
    }

    private void Append(GuildStream stream, int events)
    {
        for (var i = 0; i < events; i++)
        {
            stream.Append(BrokerMessage.Event("1", "a:b", new byte[] { 1 }, 0), "epoch", _clock.GetTimestamp());
        }
    }
}
