using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Brokers;

/// <summary>
/// The broker specification against the scripted asynchronous broker: the test double of the dispatcher's asynchronous
/// join path (tests/LiveUpdates.Tests/Dispatch) must itself keep the contract, or those tests would prove nothing.
/// </summary>
[TestFixture]
public sealed class ScriptedBrokerTests : BrokerSpecification
{
    private FakeTimeProvider _clock = new();

    [SetUp]
    public void NewClock() => _clock = new FakeTimeProvider(DateTimeOffset.UtcNow);

    protected override IBroker CreateBroker(int historyCapacity, TimeSpan historyMaxAge) =>
        new ScriptedBroker(new InMemoryBroker(historyCapacity, historyMaxAge, _clock));

    protected override Task AdvanceAsync(TimeSpan time)
    {
        _clock.Advance(time);
        return Task.CompletedTask;
    }

    [Test]
    public async Task Deliveries_ComeFromTheBrokersOwnThread_NotFromThePublishingCall()
    {
        var (broker, handler) = await StartAsync();
        await broker.SubscribeAsync(GuildA, CancellationToken.None);
        var scripted = (ScriptedBroker)broker;
        scripted.HoldDeliveries();

        var position = await PublishAsync(broker, GuildA);
        Assert.That(handler.For(GuildA), Is.Empty, "held: nothing is delivered inside PublishAsync");

        scripted.ReleaseDeliveries();
        await Wait.UntilAsync(() => handler.For(GuildA).Count == 1, "delivered once released");
        Assert.That(handler.For(GuildA)[0].Position, Is.EqualTo(position));
    }
}
