using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Dispatch;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Dispatch;

/// <summary>
/// A large room's direct writes shared by the dispatch loop and thread-pool helpers (<see cref="SharedFanOut"/>):
/// every member written exactly once, by more than one thread, and the call returns only when all are written (the
/// next publication must not overtake this one at any member). Unit seam: members are fakes that record the call.
/// </summary>
[TestFixture]
public sealed class SharedFanOutTests
{
    private const int Members = 5000;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    [Test]
    public void ALargeRoom_IsWrittenByMoreThanOneThread_EveryMemberOnce()
    {
        Assume.That(Environment.ProcessorCount, Is.GreaterThan(1), "one core: the loop writes alone (SharedFanOut.Applies)");
        var caller = Environment.CurrentManagedThreadId;
        using var helperSeen = new ManualResetEventSlim();
        var members = Fakes(Members, onDeliver: fake =>
        {
            if (Environment.CurrentManagedThreadId != caller)
            {
                helperSeen.Set();
            }
            else if (fake.Index == 0)
            {
                // The loop's first member waits (bounded, once) until a helper has written one: a helper must take part.
                helperSeen.Wait(Long);
            }
        });
        var frame = Frame();

        SharedFanOut.Deliver(members, frame);

        Assert.Multiple(() =>
        {
            Assert.That(members.Cast<Fake>().Select(m => m.Delivered.Count), Is.All.EqualTo(1), "every member once");
            Assert.That(members.Cast<Fake>().All(m => m.Delivered[0] == (frame, true)), "the frame, written directly");
            Assert.That(helperSeen.IsSet, Is.True, "a thread-pool helper wrote to some members");
            Assert.That(members.Cast<Fake>().Select(m => m.Thread).Distinct().Count(), Is.GreaterThan(1));
        });
    }

    [Test]
    public async Task Deliver_ReturnsOnlyWhenTheHelpersChunksAreWritten()
    {
        Assume.That(Environment.ProcessorCount, Is.GreaterThan(1), "one core: the loop writes alone (SharedFanOut.Applies)");
        using var helperBlocked = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        var callerThread = -1;
        var blocked = 0;
        var members = Fakes(Members, onDeliver: fake =>
        {
            if (Environment.CurrentManagedThreadId != Volatile.Read(ref callerThread))
            {
                if (Interlocked.Exchange(ref blocked, 1) == 0)
                {
                    helperBlocked.Set();
                    release.Wait(Long); // a helper stuck in the middle of its chunk
                }
            }
            else if (fake.Index == 0)
            {
                helperBlocked.Wait(Long); // the loop does not finish every chunk before a helper has started
            }
        });

        var fanOut = Task.Factory.StartNew(
            () =>
            {
                Volatile.Write(ref callerThread, Environment.CurrentManagedThreadId);
                SharedFanOut.Deliver(members, Frame());
            },
            TaskCreationOptions.LongRunning);
        Assert.That(helperBlocked.Wait(Long), Is.True, "a helper took a chunk");
        await Wait.UntilAsync(() => members.Cast<Fake>().Count(m => m.Delivered.Count == 1) >= Members - SharedFanOut.ChunkSize, "the other chunks written");

        Assert.That(fanOut.IsCompleted, Is.False, "the fan-out waits for the helper's chunk");
        release.Set();
        await Wait.ForAsync(fanOut, "the fan-out", Long);
        Assert.That(members.Cast<Fake>().Select(m => m.Delivered.Count), Is.All.EqualTo(1));
    }

    [Test]
    public void AMemberThatThrows_FailsTheFanOut_OnTheCallingThread()
    {
        var members = Fakes(Members, onDeliver: fake =>
        {
            if (fake.Index == Members - 1)
            {
                throw new InvalidOperationException("member failed");
            }
        });

        var thrown = Assert.Throws<InvalidOperationException>(() => SharedFanOut.Deliver(members, Frame()));

        Assert.That(thrown!.Message, Is.EqualTo("member failed"));
    }

    [Test]
    public void Applies_FromMinMembers()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SharedFanOut.Applies(SharedFanOut.MinMembers - 1), Is.False);
            Assert.That(SharedFanOut.Applies(SharedFanOut.MinMembers), Is.EqualTo(Environment.ProcessorCount > 1));
        });
    }

    private static OutboundFrame Frame() => OutboundFrame.Event("{}"u8.ToArray(), "111111111111111111", "moderation:infraction_created", 1, latestValue: false);

    private static ISubscriber[] Fakes(int count, Action<Fake> onDeliver) =>
        [.. Enumerable.Range(0, count).Select(i => (ISubscriber)new Fake(i, onDeliver))];

    private sealed class Fake(int index, Action<Fake> onDeliver) : ISubscriber
    {
        public int Index => index;

        public List<(OutboundFrame Frame, bool Direct)> Delivered { get; } = [];

        public int Thread { get; private set; }

        public long Id => index;

        public AuthenticatedUser? User => null;

        public void Deliver(OutboundFrame frame, bool writeDirectly)
        {
            Thread = Environment.CurrentManagedThreadId;
            onDeliver(this);
            lock (Delivered)
            {
                Delivered.Add((frame, writeDirectly));
            }
        }

        public void Deliver(List<OutboundFrame> frames) => throw new NotSupportedException();

        public bool CompleteJoin(AuthenticatedUser user, GuildAccess access, string guildId, byte[] subscribed, IReadOnlyList<OutboundFrame> replay) => throw new NotSupportedException();

        public void RefuseJoin(string guildId, GuildAccess access) => throw new NotSupportedException();

        public AuthenticatedUser? SubscribedAs(string guildId) => null;

        public void ApplyAccess(string guildId, AuthenticatedUser user, GuildAccess access) => throw new NotSupportedException();
    }
}
