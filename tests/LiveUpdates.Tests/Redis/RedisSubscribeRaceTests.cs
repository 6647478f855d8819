using System.Collections.Concurrent;
using System.Text;
using LiveUpdates.Brokers;
using LiveUpdates.Redis;
using LiveUpdates.Tests.Infrastructure;
using StackExchange.Redis.Profiling;

namespace LiveUpdates.Tests.Redis;

/// <summary>
/// Issue 19, item 8, reproduced: a guild's last subscriber leaving while a new one arrives. StackExchange.Redis removes a
/// channel's registration when its last queue unsubscribes, then sends <c>UNSUBSCRIBE</c>; a <c>SUBSCRIBE</c> for the same
/// channel made in between registers anew and is written first, so Redis ends unsubscribed while the new registration
/// believes it is subscribed (nothing re-subscribes it until a reconnect). The test holds the unsubscribing call exactly
/// there — StackExchange.Redis asks the profiling-session provider for each command on the calling thread, after the
/// registration is gone and before the command is written — and checks that the new subscriber still receives.
/// </summary>
[TestFixture]
public sealed class RedisSubscribeRaceTests
{
    private const string Guild = "987654321098765432";

    private static readonly AsyncLocal<string?> Flow = new();

    [Test]
    public async Task ANewSubscriber_WhileTheLastOnesUnsubscribeIsBetweenDeregistrationAndItsCommand_StillReceives()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var broker = new RedisBroker(new RedisBrokerOptions { Configuration = redis.Configuration, KeyPrefix = "race-" + Guid.NewGuid().ToString("N") });
        var handler = new Recording();
        await broker.StartAsync(handler, CancellationToken.None);
        var hold = new UnsubscribeHold();
        broker.Connection!.RegisterProfiler(hold.Provider);
        await broker.SubscribeAsync(Guild, CancellationToken.None);

        hold.Arm();
        var leaving = Task.Run(() =>
        {
            Flow.Value = "leaving";
            return broker.UnsubscribeAsync(Guild, CancellationToken.None).AsTask();
        });
        await Wait.ForAsync(hold.Entered.Task, "the last subscriber's UNSUBSCRIBE, held after its channel registration was removed");

        // Everything up to the command's write is synchronous: when SubscribeAsync returns, its SUBSCRIBE was written
        // or the call waits for something (the previous unsubscribe).
        Flow.Value = "arriving";
        var arriving = broker.SubscribeAsync(Guild, CancellationToken.None).AsTask();
        Flow.Value = null;
        var subscribeWrittenDuringHold = hold.ArrivingCommands > 0;
        hold.Release();
        await Wait.ForAsync(leaving, "the unsubscribe");
        await Wait.ForAsync(arriving, "the subscribe");

        var position = await broker.PublishAsync(BrokerMessage.Event(Guild, "t", Encoding.UTF8.GetBytes("{}"), 0), CancellationToken.None);
        await Wait.UntilAsync(
            () => handler.Publications.Any(p => p.Position == position),
            $"the publication reaching the subscriber that arrived as the last one left (its SUBSCRIBE written during the held UNSUBSCRIBE: {subscribeWrittenDuringHold})");
        Assert.That(subscribeWrittenDuringHold, Is.False, "the new subscriber's SUBSCRIBE waits for the previous UNSUBSCRIBE to finish");
    }

    /// <summary>Holds the first command of the "leaving" flow (its UNSUBSCRIBE) on its thread until released; counts the "arriving" flow's commands.</summary>
    private sealed class UnsubscribeHold
    {
        private readonly ManualResetEventSlim _release = new(false);
        private int _armed;
        private int _arriving;

        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int ArrivingCommands => Volatile.Read(ref _arriving);

        public void Arm() => Volatile.Write(ref _armed, 1);

        public void Release() => _release.Set();

        public ProfilingSession? Provider()
        {
            switch (Flow.Value)
            {
                case "leaving" when Interlocked.Exchange(ref _armed, 0) == 1:
                    Entered.TrySetResult();
                    _release.Wait(TimeSpan.FromSeconds(30));
                    break;
                case "arriving":
                    Interlocked.Increment(ref _arriving);
                    break;
            }

            return null;
        }
    }

    private sealed class Recording : IBrokerHandler
    {
        public ConcurrentQueue<Publication> Publications { get; } = new();

        public void OnPublication(Publication publication) => Publications.Enqueue(publication);

        public void OnStreamLost(string guildId, StreamPosition position)
        {
        }
    }
}
