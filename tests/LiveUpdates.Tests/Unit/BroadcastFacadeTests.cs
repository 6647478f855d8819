using Moq;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
[NonParallelizable] // the facade is process-wide
public sealed class BroadcastFacadeTests
{
    [SetUp]
    [TearDown]
    public void Reset() => Broadcast.SetBroadcaster(null);

    [Test]
    public void ToGuild_NoBroadcaster_DoesNothing() =>
        Assert.DoesNotThrow(() => Broadcast.ToGuild("123", "moderation:config_updated", new { a = 1 }));

    [TestCase("abc", "moderation:config_updated")]
    [TestCase("123", "not an event")]
    public void ToGuild_NoBroadcaster_StillRejectsBadArguments(string guildId, string eventName) =>
        Assert.Throws<ArgumentException>(() => Broadcast.ToGuild(guildId, eventName));

    [Test]
    public void ToGuild_WithBroadcaster_Forwards()
    {
        var broadcaster = new Mock<IBroadcaster>();
        var data = new { a = 1 };
        Broadcast.SetBroadcaster(broadcaster.Object);

        Broadcast.ToGuild("123", "moderation:config_updated", data);

        broadcaster.Verify(b => b.Broadcast("123", "moderation:config_updated", data), Times.Once);
    }

    [Test]
    public void ClearBroadcaster_OnlyClearsTheExpectedBroadcaster()
    {
        var older = new Mock<IBroadcaster>().Object;
        var newer = new Mock<IBroadcaster>().Object;
        Broadcast.SetBroadcaster(newer);

        Assert.Multiple(() =>
        {
            Assert.That(Broadcast.ClearBroadcaster(older), Is.False);
            Assert.That(Broadcast.Current, Is.SameAs(newer));
            Assert.That(Broadcast.ClearBroadcaster(newer), Is.True);
            Assert.That(Broadcast.Current, Is.Null);
        });
    }
}
