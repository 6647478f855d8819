using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// The early-read race outside the routine position check (issue 19, see <see cref="RedisBurstTests"/>): a history read
/// for a recovering client, and the re-check a channel message triggers, read the stream while pub/sub is still bringing
/// a burst. When the stream no longer holds the range after what was delivered, neither may take the publications still
/// on their way for lost (a spurious refetch, the backlog dropped): every publication once, in order, no loss signalled.
/// Over a real redis-server; instance B's hand-over is held on chosen publications while instance A publishes.
/// </summary>
[TestFixture]
public sealed class RedisEarlyReadTests
{
    private const string G1 = RedisScaleOutTests.G1;

    private RedisServer _redis = null!;
    private string _prefix = string.Empty;

    [OneTimeSetUp]
    public async Task StartRedis() => _redis = await RedisServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopRedis() => await _redis.DisposeAsync();

    [SetUp]
    public void NewPrefix() => _prefix = "early-" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// A client recovers on B at the position B delivered (1) while B's pub/sub is 40 publications behind a stream of
    /// capacity 8: it is answered at what B delivered, and the 40 come live, by pub/sub, once each.
    /// </summary>
    [Test]
    public async Task AHistoryRead_AtWhatWasDelivered_WhilePubSubIsBehindByMoreThanTheStreamHolds_IsNoLoss()
    {
        const int Later = 40;
        await using var pair = await HeldBehindAsync(8, Later);
        var (a, b, onB, first, delivered) = (pair.A, pair.B, pair.OnB, pair.First, pair.Delivered);

        var reading = b.ReadSinceAsync(G1, delivered, CancellationToken.None).AsTask(); // waits for the feed
        Assert.That(reading.IsCompleted, Is.False, "the read waits for the hand-over in progress");
        first.Release();
        var answer = await Wait.ForAsync(reading, "the history read");
        var handedAtAnswer = onB.Publications.Count;
        await Wait.ForAsync(onB.AllOrLost(Later + 1), "every publication on B, or a loss");

        Assert.Multiple(() =>
        {
            Assert.That(onB.Lost, Is.Empty, "no stream loss: pub/sub brought everything");
            Assert.That(onB.Publications.Select(p => p.Position.Seq), Is.EqualTo(Enumerable.Range(1, Later + 1).Select(k => (long)k)), "every publication once, in order");
            Assert.That(answer.Recovered, Is.True, "the reader was at what B delivered: recovered");
            Assert.That(answer.Current.Seq, Is.LessThanOrEqualTo(handedAtAnswer), "the answered position had reached the server (the seam)");
        });
    }

    /// <summary>
    /// A client recovers on B at position 20 (it saw that much on A) while B has delivered 1 and its pub/sub is 40 behind
    /// a stream of capacity 8: B answers once pub/sub brought position 20, recovered, and nothing is lost.
    /// </summary>
    [Test]
    public async Task AHistoryRead_AheadOfWhatWasDelivered_WhilePubSubIsBehindByMoreThanTheStreamHolds_WaitsForPubSub_IsNoLoss()
    {
        const int Later = 40;
        await using var pair = await HeldBehindAsync(8, Later);
        var (a, b, onB, first, delivered) = (pair.A, pair.B, pair.OnB, pair.First, pair.Delivered);

        var reading = b.ReadSinceAsync(G1, new StreamPosition(20, delivered.Epoch), CancellationToken.None).AsTask();
        first.Release();
        var answer = await Wait.ForAsync(reading, "the history read");
        var handedAtAnswer = onB.Publications.Count;
        await Wait.ForAsync(onB.AllOrLost(Later + 1), "every publication on B, or a loss");

        Assert.Multiple(() =>
        {
            Assert.That(onB.Lost, Is.Empty, "no stream loss: pub/sub brought everything");
            Assert.That(onB.Publications.Select(p => p.Position.Seq), Is.EqualTo(Enumerable.Range(1, Later + 1).Select(k => (long)k)), "every publication once, in order");
            Assert.That(answer.Recovered, Is.True, "position 20 was delivered here before the answer: recovered");
            Assert.That(answer.Current.Seq, Is.LessThanOrEqualTo(handedAtAnswer), "the answered position had reached the server (the seam)");
        });
    }

    /// <summary>
    /// A client recovers on B at position 50 of the current epoch while the stream's top is 41 (a position only lost
    /// writes produce: Redis gave out numbers it no longer has) and B's pub/sub is behind: B must not wait for pub/sub
    /// to bring 50 — the events that later take those numbers are other events — but refetch, as without the wait.
    /// </summary>
    [Test]
    public async Task AHistoryRead_BeyondTheStreamsTop_WhilePubSubIsBehind_RefetchesInsteadOfWaitingForOtherEvents()
    {
        const int Later = 40;
        await using var pair = await HeldBehindAsync(8, Later);
        var (a, b, onB, first, delivered) = (pair.A, pair.B, pair.OnB, pair.First, pair.Delivered);

        var reading = b.ReadSinceAsync(G1, new StreamPosition(50, delivered.Epoch), CancellationToken.None).AsTask();
        first.Release();
        await Wait.ForAsync(onB.AllOrLost(Later + 1), "B's backlog handed over, or a loss");

        // New events now take the numbers 42-51: a reader still waiting for "50" would be answered with them.
        await PublishAsync(a, Later + 1, 10);
        var answer = await Wait.ForAsync(reading, "the history read");

        Assert.That(answer.Recovered, Is.False, "position 50 was beyond the stream's top in its epoch: a refetch, not a recovery over other events");
    }

    /// <summary>
    /// A channel message that makes B re-check the stream (a number B already delivered, older than B remembers
    /// identities for: B's history read had caught up 299 publications from the stream, capacity 1,000) lands while B's
    /// pub/sub is 1,200 behind: the re-check must not take the backlog still on its way for lost.
    /// </summary>
    [Test]
    public async Task AReCheck_TriggeredByAChannelMessage_WhilePubSubIsBehindByMoreThanTheStreamHolds_IsNoLoss()
    {
        const int Capacity = 1000;
        const int CaughtUp = 300;
        const int Later = 1200;
        await using var pair = await HeldBehindAsync(Capacity, CaughtUp - 1, holdAlsoAt: CaughtUp);
        var (a, b, onB, first, delivered) = (pair.A, pair.B, pair.OnB, pair.First, pair.Delivered);
        var caughtUp = pair.Also!;

        // The history read catches B up from the stream (it holds 2..300), ahead of the channel: held at 300 while A
        // publishes 1,200 more, so the stream no longer holds what follows 300 when pub/sub's copies of 2.. arrive.
        var reading = b.ReadSinceAsync(G1, delivered, CancellationToken.None).AsTask();
        first.Release();
        await Wait.ForAsync(caughtUp.Entered.Task, "B's catch-up from the stream up to 300");
        await PublishAsync(a, CaughtUp, Later);
        caughtUp.Release();
        await Wait.ForAsync(reading, "the history read");
        await Wait.ForAsync(onB.AllOrLost(CaughtUp + Later), "every publication on B, or a loss", TimeSpan.FromSeconds(60));

        Assert.Multiple(() =>
        {
            Assert.That(onB.Lost, Is.Empty, "no stream loss: pub/sub brought everything");
            Assert.That(onB.Publications.Select(p => p.Position.Seq), Is.EqualTo(Enumerable.Range(1, CaughtUp + Later).Select(k => (long)k)), "every publication once, in order");
        });
    }

    /// <summary>
    /// Instances A and B on one guild (streams of <paramref name="capacity"/>), B subscribed; A publishes one publication,
    /// B's hand-over of it is held, then A publishes <paramref name="behind"/> more: B's pub/sub is that far behind.
    /// </summary>
    private async Task<HeldPair> HeldBehindAsync(int capacity, int behind, long holdAlsoAt = 0)
    {
        var a = StartBroker(capacity);
        var b = StartBroker(capacity);
        var onB = new HoldingHandler();
        var first = onB.HoldAt(1);
        var also = holdAlsoAt > 0 ? onB.HoldAt(holdAlsoAt) : null;
        await a.StartAsync(new HoldingHandler(), CancellationToken.None);
        await b.StartAsync(onB, CancellationToken.None);
        await b.SubscribeAsync(G1, CancellationToken.None);

        await PublishAsync(a, 0, 1);
        var delivered = await Wait.ForAsync(first.Entered.Task, "B's hand-over of the first publication");
        await PublishAsync(a, 1, behind);
        return new HeldPair(a, b, onB, first, also, delivered);
    }

    private RedisBroker StartBroker(int capacity) => new(
        new RedisBrokerOptions { Configuration = _redis.Configuration, KeyPrefix = _prefix, HistoryCapacity = capacity, PositionCheckInterval = TimeSpan.FromSeconds(1) },
        null,
        null,
        new FakeTimeProvider(DateTimeOffset.UtcNow)); // no position check runs: the reads under test are the only ones

    private static async Task PublishAsync(RedisBroker broker, int from, int count)
    {
        for (var n = from; n < from + count; n++)
        {
            await broker.PublishAsync(BrokerMessage.Event(G1, "t", Encoding.UTF8.GetBytes(n.ToString(CultureInfo.InvariantCulture)), 0), CancellationToken.None);
        }
    }

    /// <summary>What <see cref="HeldBehindAsync"/> set up; disposing it stops both brokers.</summary>
    private sealed record HeldPair(RedisBroker A, RedisBroker B, HoldingHandler OnB, Hold First, Hold? Also, StreamPosition Delivered) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
        }
    }

    /// <summary>A broker handler that holds the publications at chosen positions until released, and records what it is given.</summary>
    private sealed class HoldingHandler : IBrokerHandler
    {
        private readonly ConcurrentDictionary<long, Hold> _holds = new();
        private TaskCompletionSource _signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<Publication> Publications { get; } = new();

        public ConcurrentQueue<StreamPosition> Lost { get; } = new();

        public Hold HoldAt(long seq) => _holds[seq] = new Hold();

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
            if (_holds.TryRemove(publication.Position.Seq, out var hold) && hold.Entered.TrySetResult(publication.Position))
            {
                hold.Wait();
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

    /// <summary>One held hand-over: <see cref="Entered"/> with its position once it is held, until <see cref="Release"/>.</summary>
    private sealed class Hold
    {
        private readonly ManualResetEventSlim _release = new(false);

        public TaskCompletionSource<StreamPosition> Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Release() => _release.Set();

        public void Wait() => _release.Wait(TimeSpan.FromSeconds(60));
    }
}
