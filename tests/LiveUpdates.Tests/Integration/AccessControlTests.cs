using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using static LiveUpdates.Tests.Infrastructure.Perm;

namespace LiveUpdates.Tests.Integration;

/// <summary>The dashboard permission model over real sockets: guild access, feature filtering, revocation.</summary>
[TestFixture]
public sealed class AccessControlTests
{
    private const string G = "111111111111111111";
    private InMemoryMemberSource _members = null!;
    private InMemoryPermissionStore _store = null!;
    private TestServer _server = null!;

    [SetUp]
    public async Task SetUp()
    {
        _members = new InMemoryMemberSource();
        _store = new InMemoryPermissionStore();
        _server = await TestServer.StartAsync(
            o =>
            {
                o.PermissionCategories["moderation"] = ["moderation.manage_config", "moderation.view_infractions"];
                o.PermissionCategories["tickets"] = ["tickets.view"];
                o.EventCategories["attachment-blocker"] = "moderation";
            },
            accessPolicy: options => new LiveUpdates.Security.DashboardAccessPolicy(_members, _store, options));
    }

    [TearDown]
    public async Task TearDown() => await _server.DisposeAsync();

    [Test]
    public async Task Authenticated_ListsOnlyTheGuildsTheUserMayOpen()
    {
        _members.Set(G, "1", new GuildMember([new MemberRole("mod", 1)]));
        _members.Set("222", "1", new GuildMember([], IsAdministrator: true));
        _members.Set("333", "1", new GuildMember([]));
        _store.Set(G, Role(G, "mod", Allow("tickets")));
        await using var client = await _server.ConnectAsync();
        await client.ExpectAsync("connected");

        var authenticated = await client.AuthenticateAsync(TestTokens.Create("1", []));

        Assert.That(authenticated.GetProperty("data").GetProperty("guilds").EnumerateArray().Select(g => g.GetString()),
            Is.EqualTo(new[] { G, "222" }));
        await client.SendAsync(new { type = "subscribe", guildId = "333" });
        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
    }

    [Test]
    public async Task Events_AreFilteredByCategory_UncategorizedPluginsAreClosed_MappedPluginsFollowTheirCategory()
    {
        _members.Set(G, "tickets-only", new GuildMember([new MemberRole("support", 1)]));
        _members.Set(G, "admin", new GuildMember([], IsAdministrator: true));
        _store.Set(G, Role(G, "support", Allow("tickets")));
        await using var support = await _server.ConnectAuthenticatedAsync("tickets-only", [], G);
        await using var admin = await _server.ConnectAuthenticatedAsync("admin", [], G);

        foreach (var name in new[] { LiveEvents.Moderation.RuleCreated, LiveEvents.Tickets.TicketCreated, LiveEvents.Tags.TagCreated, LiveEvents.AttachmentBlocker.ConfigUpdated })
        {
            _server.Manager.Broadcast(G, name);
        }

        await _server.FlushAsync();
        Assert.Multiple(async () =>
        {
            Assert.That((await support.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()),
                Is.EqualTo(new[] { "tickets:ticket_created" }), "tags has no registered category: closed");
            Assert.That((await admin.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()),
                Is.EqualTo(new[] { "moderation:rule_created", "tickets:ticket_created", "attachment-blocker:config_updated" }), "closed even to an administrator, who sees the registered categories");
        });
    }

    [Test]
    public async Task UncategorizedPlugins_ReachEverySubscriber_OnlyWhenOpenedExplicitly_DashboardEventsAlways()
    {
        _members.Set(G, "tickets-only", new GuildMember([new MemberRole("support", 1)]));
        _members.Set(G, "owner", new GuildMember([], IsOwner: true));
        _store.Set(G, Role(G, "support", Allow("tickets")));
        await using var opened = await TestServer.StartAsync(
            o =>
            {
                o.PermissionCategories["tickets"] = ["tickets.view"];
                o.DeliverUncategorizedEventsToEveryone = true;
            },
            accessPolicy: options => new LiveUpdates.Security.DashboardAccessPolicy(_members, _store, options));
        await using var supportOpened = await opened.ConnectAuthenticatedAsync("tickets-only", [], G);
        await using var supportClosed = await _server.ConnectAuthenticatedAsync("tickets-only", [], G);
        await using var owner = await _server.ConnectAuthenticatedAsync("owner", [], G);

        foreach (var server in new[] { opened, _server })
        {
            server.Manager.Broadcast(G, LiveEvents.Tags.TagCreated);
            server.Manager.Broadcast(G, LiveEvents.Dashboard.SettingsUpdated);
            await server.FlushAsync();
        }

        Assert.Multiple(async () =>
        {
            Assert.That((await supportOpened.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()),
                Is.EqualTo(new[] { "tags:tag_created", "dashboard:settings_updated" }), "opened by DeliverUncategorizedEventsToEveryone");
            Assert.That((await supportClosed.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()),
                Is.EqualTo(new[] { "dashboard:settings_updated" }), "closed by default; dashboard:* always delivered");
            Assert.That((await owner.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()),
                Is.EqualTo(new[] { "tags:tag_created", "dashboard:settings_updated" }), "the owner sees every category");
        });
    }

    [Test]
    public void AnEventCategoryMappedToAnUnregisteredCategory_FailsStartUp_NamingTheEntry()
    {
        var options = new LiveUpdatesOptions { ConnectionTokenKey = TestTokens.Secret };
        options.PermissionCategories["moderation"] = ["moderation.manage_config"];
        options.EventCategories["attachment-blocker"] = "moderaton";

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => _ = new WebSocketManager(options));
        Assert.That(error!.Message, Does.Contain("LiveUpdates:EventCategories maps 'attachment-blocker' to 'moderaton', which is not a category of LiveUpdates:PermissionCategories (moderation)"));
    }

    [Test]
    public async Task Revocation_ByInvalidate_UnsubscribesWithForbidden_WithoutReconnecting()
    {
        _members.Set(G, "1", new GuildMember([new MemberRole("mod", 1)]));
        _store.Set(G, Role(G, "mod", Allow("moderation")));
        await using var client = await _server.ConnectAuthenticatedAsync("1", [], G);

        _store.Set(G, Role(G, "mod", Deny("moderation")));
        await _server.Manager.InvalidateGuildAccessAsync(G);
        _server.Manager.Broadcast(G, LiveEvents.Tags.TagCreated);

        var error = await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        Assert.That(error.GetProperty("guildId").GetString(), Is.EqualTo(G));
        await _server.FlushAsync();
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty, "not even uncategorized events after revocation");
        Assert.That(_store.Invalidations, Is.EqualTo(1), "the store's cache is dropped first");
        Assert.That(client.Socket.State, Is.EqualTo(System.Net.WebSockets.WebSocketState.Open));
    }

    [Test]
    public async Task PermissionsUpdatedBroadcast_NarrowsTheFeatureFilter_BeforeTheNextEvent()
    {
        _members.Set(G, "1", new GuildMember([new MemberRole("mod", 1)]));
        _store.Set(G, Role(G, "mod", Allow("moderation"), Allow("tickets")));
        await using var client = await _server.ConnectAuthenticatedAsync("1", [], G);

        _store.Set(G, Role(G, "mod", Allow("tickets")));
        _server.Manager.Broadcast(G, LiveEvents.Dashboard.PermissionsUpdated, new { roleId = "mod" });
        _server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated);
        _server.Manager.Broadcast(G, LiveEvents.Tickets.TicketClosed);
        await _server.FlushAsync();

        Assert.That((await client.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()),
            Is.EqualTo(new[] { "dashboard:permissions_updated", "tickets:ticket_closed" }));
    }

    [Test]
    public async Task PermissionsUpdated_CanAlsoWiden_TheFilter()
    {
        _members.Set(G, "1", new GuildMember([new MemberRole("mod", 1)]));
        _store.Set(G, Role(G, "mod", Allow("tickets")));
        await using var client = await _server.ConnectAuthenticatedAsync("1", [], G);

        _store.Set(G, Role(G, "mod", Allow("tickets"), Allow("moderation.view_infractions")));
        await _server.Manager.InvalidateGuildAccessAsync(G);
        _server.Manager.Broadcast(G, LiveEvents.Moderation.InfractionCreated);

        await client.ExpectAsync(LiveEvents.Moderation.InfractionCreated);
    }

    [Test]
    public async Task Recovery_ReplaysOnlyWhatTheUserMaySee()
    {
        _members.Set(G, "1", new GuildMember([new MemberRole("support", 1)]));
        _store.Set(G, Role(G, "support", Allow("tickets")));
        await using var client = await _server.ConnectAuthenticatedAsync("1", []);
        _server.Manager.Broadcast(G, LiveEvents.Moderation.RuleCreated);
        _server.Manager.Broadcast(G, LiveEvents.Tickets.TicketCreated);
        await _server.FlushAsync();

        var subscribed = await client.SubscribeAsync(G, 0, _server.Manager.Epoch);

        Assert.That(subscribed.GetProperty("data").GetProperty("recovered").GetBoolean(), Is.True);
        Assert.That((await client.DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString()), Is.EqualTo(new[] { "tickets:ticket_created" }));
    }

    [Test]
    public async Task Revocation_BetweenTheAccessCheckAndTheJoin_IsNotMissed()
    {
        _members.Set(G, "1", new GuildMember([new MemberRole("mod", 1)]));
        _store.Set(G, Role(G, "mod", Allow("moderation")));
        var gate = new TaskCompletionSource();
        var held = new TaskCompletionSource();
        await using var server = await TestServer.StartAsync(
            o => o.PermissionCategories["moderation"] = ["moderation.manage_config"],
            accessPolicy: options => new StaleFirstAnswerPolicy(new LiveUpdates.Security.DashboardAccessPolicy(_members, _store, options), held, gate.Task));
        await using var client = await server.ConnectAuthenticatedAsync("1", []);

        // The first access check is held, and answers with what was true before the revocation.
        await client.SendAsync(new { type = "subscribe", guildId = G });
        await Wait.ForAsync(held.Task, "the subscription's access check is under way");
        _store.Set(G, Role(G, "mod", Deny("moderation")));
        await server.Manager.InvalidateGuildAccessAsync(G);
        gate.SetResult();

        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        server.Manager.Broadcast(G, LiveEvents.Tags.TagCreated);
        await server.FlushAsync();
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    private sealed class StaleFirstAnswerPolicy(IGuildAccessPolicy inner, TaskCompletionSource held, Task gate) : IGuildAccessPolicy
    {
        private int _calls;

        public ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
            inner.GetGuildsAsync(user, cancellationToken);

        public async ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _calls) == 1)
            {
                var stale = await inner.GetAccessAsync(user, guildId, cancellationToken);
                held.SetResult();
                await gate;
                return stale;
            }

            return await inner.GetAccessAsync(user, guildId, cancellationToken);
        }

        public void Invalidate(string guildId) => inner.Invalidate(guildId);
    }
}
