using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Guild ids as .NET Discord libraries hand them out (<c>ulong</c>) reach the same subscribers as their decimal
/// strings (issue 24, item 4); the wire keeps strings.
/// </summary>
[TestFixture]
[NonParallelizable] // the Broadcast facade is process-wide
public sealed class UlongGuildIdTests
{
    private const ulong Guild = 987654321098765432;
    private const string GuildText = "987654321098765432";

    [TearDown]
    public void ClearFacade() => Broadcast.SetBroadcaster(null);

    [Test]
    public async Task EveryUlongEntryPoint_ReachesTheSubscriberOfTheStringId()
    {
        await using var server = await TestServer.StartAsync();
        await using var client = await server.ConnectAuthenticatedAsync("42", [GuildText], GuildText);
        Broadcast.SetBroadcaster(server.Manager);
        IBroadcaster broadcaster = server.Manager;

        server.Manager.Broadcast(Guild, "moderation:rule_created", new { n = 1 });
        broadcaster.Broadcast(Guild, "moderation:rule_created", new { n = 2 });
        server.Manager.To(Guild).Emit("moderation:rule_created", new { n = 3 });
        broadcaster.To(Guild).Emit("moderation:rule_created", new { n = 4 });
        Broadcast.ToGuild(Guild, "moderation:rule_created", new { n = 5 });

        for (var n = 1; n <= 5; n++)
        {
            var message = await client.ExpectAsync("moderation:rule_created");
            Assert.Multiple(() =>
            {
                Assert.That(message.GetProperty("guildId").GetString(), Is.EqualTo(GuildText), "the wire keeps the string");
                Assert.That(message.GetProperty("data").GetProperty("n").GetInt32(), Is.EqualTo(n));
            });
        }
    }

    [Test]
    public void AnotherBroadcaster_GetsTheDecimalString_FromTheInterfaceDefaults()
    {
        var recorder = new RecordingBroadcaster();
        IBroadcaster broadcaster = recorder;

        broadcaster.Broadcast(Guild, "tickets:ticket_created");
        broadcaster.To(Guild);

        Assert.That(recorder.Calls, Is.EqualTo(new[] { $"broadcast {GuildText}", $"to guild:{GuildText}" }));
    }

    [Test]
    public async Task InvalidateGuildAccess_WithAUlong_RechecksTheStringSubscription()
    {
        var members = new InMemoryMemberSource();
        members.Set(GuildText, "42", new LiveUpdates.Security.GuildMember([], IsOwner: true));
        await using var server = await TestServer.StartAsync(accessPolicy: o => new LiveUpdates.Security.DashboardAccessPolicy(members, null, o));
        await using var client = await server.ConnectAuthenticatedAsync("42", [], GuildText);

        members.Set(GuildText, "42", null);
        await Wait.ForAsync(server.Manager.InvalidateGuildAccessAsync(Guild), "re-check");

        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
    }

    private sealed class RecordingBroadcaster : IBroadcaster
    {
        public List<string> Calls { get; } = [];

        public void Broadcast(string guildId, string eventName, object? data = null) => Calls.Add($"broadcast {guildId}");

        public IRoomEmitter To(string room)
        {
            Calls.Add($"to {room}");
            return null!;
        }
    }
}
