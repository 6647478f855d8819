using LiveUpdates.Internal;
using LiveUpdates.Internal.Subscriptions;
using LiveUpdates.Security;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class SubscriptionSetTests
{
    [Test]
    public void Set_AddsOnce_ThenReplacesTheAccess()
    {
        var set = new SubscriptionSet();
        Assert.Multiple(() =>
        {
            Assert.That(set.Set("1", GuildAccess.Full), Is.True);
            Assert.That(set.Set("1", GuildAccess.ForCategories(["tickets"])), Is.False);
            Assert.That(set.Count, Is.EqualTo(1));
            Assert.That(set.Find("1")!.Access.Allows("moderation"), Is.False, "the new access applies");
            Assert.That(set.Find("2"), Is.Null);
        });
    }

    [Test]
    public void Remove_AndClear()
    {
        var set = new SubscriptionSet();
        set.Set("1", GuildAccess.Full);
        set.Set("2", GuildAccess.Full);
        var snapshot = set.Snapshot();

        Assert.Multiple(() =>
        {
            Assert.That(set.Remove("1"), Is.True);
            Assert.That(set.Remove("1"), Is.False);
            Assert.That(snapshot, Has.Count.EqualTo(2), "a snapshot does not change afterwards");
            Assert.That(set.Clear().Select(s => s.GuildId), Is.EqualTo(new[] { "2" }));
            Assert.That(set.Count, Is.Zero);
        });
    }

    [Test]
    public void SlidingWindowLimiter_AllowsLimitPerWindow_AndFreesASlotAsTheOldestAges()
    {
        var clock = new FakeTimeProvider();
        var limiter = new SlidingWindowLimiter(3, TimeSpan.FromSeconds(1), clock);
        var results = new List<bool>();
        for (var i = 0; i < 4; i++)
        {
            results.Add(limiter.TryAcquire(clock.GetTimestamp()));
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }

        clock.Advance(TimeSpan.FromMilliseconds(650)); // the first event is now 1.05 s old, the second 0.95 s
        results.Add(limiter.TryAcquire(clock.GetTimestamp()));
        results.Add(limiter.TryAcquire(clock.GetTimestamp()));

        Assert.That(results, Is.EqualTo(new[] { true, true, true, false, true, false }));
    }
}
