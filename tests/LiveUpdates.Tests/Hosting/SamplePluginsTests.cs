using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Bot;
using LiveUpdates.SampleHost.Data;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace LiveUpdates.Tests.Hosting;

/// <summary>
/// The sample plugins as a dashboard uses them: each write through the API (or by the simulated bot) is stored
/// first and then broadcast once, to the guild's subscribers only; bad requests write nothing and broadcast nothing.
/// </summary>
[TestFixture(SampleTransport.HttpListener)]
[TestFixture(SampleTransport.OnePort)]
[NonParallelizable]
public sealed class SamplePluginsTests(SampleTransport transport)
{
    private const string Guild = SampleHostApp.DevGuildId;
    private const string OtherGuild = SampleHostApp.OtherDevGuildId;

    private RunningSample _sample = null!;

    [SetUp]
    public async Task SetUp() => _sample = await RunningSample.StartAsync(transport);

    [TearDown]
    public async Task TearDown() => await _sample.DisposeAsync();

    private WebApplication App => _sample.App;

    private HttpClient Http => _sample.Http;

    private Uri Ws => _sample.Ws;

    [Test]
    public async Task Rules_CreateToggleDelete_EachStoredThenBroadcastOnce()
    {
        await using var client = await ConnectAsync(Guild);

        using var created = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/moderation/rules", new { name = "No links", type = "invite_links", action = "mute", points = 3, _dashboardUserId = "777" });
        var rule = (await Data(created)).Clone();
        var id = rule.GetProperty("id").GetString()!;
        var createdEvent = await client.ExpectAsync(LiveEvents.Moderation.RuleCreated);
        var listed = await Data(await Http.GetAsync($"/api/guilds/{Guild}/moderation/rules"));

        using var toggled = await Http.PatchAsJsonAsync($"/api/guilds/{Guild}/moderation/rules/{id}", new { enabled = false, _dashboardUserId = "778" });
        var updatedEvent = await client.ExpectAsync(LiveEvents.Moderation.RuleUpdated);
        using var sameAgain = await Http.PatchAsJsonAsync($"/api/guilds/{Guild}/moderation/rules/{id}", new { enabled = false });

        using var deleted = await Http.DeleteAsync($"/api/guilds/{Guild}/moderation/rules/{id}?dashboardUserId=779");
        var deletedEvent = await client.ExpectAsync(LiveEvents.Moderation.RuleDeleted);
        using var deletedAgain = await Http.DeleteAsync($"/api/guilds/{Guild}/moderation/rules/{id}");
        await FlushAsync();

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(rule.GetProperty("enabled").GetBoolean(), Is.True);
            Assert.That(createdEvent.GetProperty("data").GetProperty("rule").GetProperty("id").GetString(), Is.EqualTo(id));
            Assert.That(createdEvent.GetProperty("data").GetProperty("createdBy").GetString(), Is.EqualTo("777"));
            Assert.That(listed.EnumerateArray().Select(r => r.GetProperty("id").GetString()), Does.Contain(id), "stored before the event");

            Assert.That(toggled.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(updatedEvent.GetProperty("data").GetProperty("rule").GetProperty("enabled").GetBoolean(), Is.False);
            Assert.That(updatedEvent.GetProperty("data").GetProperty("changes").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(new[] { "enabled" }));
            Assert.That(updatedEvent.GetProperty("data").GetProperty("updatedBy").GetString(), Is.EqualTo("778"));
            Assert.That(sameAgain.StatusCode, Is.EqualTo(HttpStatusCode.OK), "a no-op patch succeeds…");

            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(deletedEvent.GetProperty("data").GetProperty("ruleId").GetString(), Is.EqualTo(id));
            Assert.That(deletedEvent.GetProperty("data").GetProperty("deletedBy").GetString(), Is.EqualTo("779"));
            Assert.That(deletedAgain.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(await client.DrainUntilPongAsync(), Is.Empty, "…and neither it nor the second delete broadcast anything");
        });
    }

    [TestCase("""{"type":"keyword"}""", "name is required")]
    [TestCase("""{"name":"x","type":"nope"}""", "type must be one of")]
    [TestCase("""{"name":"x","action":"explode"}""", "action must be one of")]
    [TestCase("""{"name":"x","points":1000}""", "points must be 0 to 100")]
    [TestCase("""{"name":"x","points":"many"}""", "JSON object")]
    [TestCase("[]", "JSON object")]
    public async Task CreateRule_Invalid_400_NothingStored_NothingBroadcast(string body, string message)
    {
        await using var client = await ConnectAsync(Guild);
        var before = App.Services.GetRequiredService<SampleDatabase>().Rules.List(Guild).Count;

        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync($"/api/guilds/{Guild}/moderation/rules", content);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        await FlushAsync();

        await Assert.MultipleAsync(async () =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
            Assert.That(json.GetProperty("error").GetProperty("message").GetString(), Does.Contain(message));
            Assert.That(App.Services.GetRequiredService<SampleDatabase>().Rules.List(Guild), Has.Count.EqualTo(before));
            Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
        });
    }

    [Test]
    public async Task PluginRoutes_RejectAGuildIdThatIsNotASnowflake()
    {
        using var response = await Http.GetAsync("/api/guilds/not-a-guild/moderation/rules");
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(json.GetProperty("success").GetBoolean(), Is.False);
    }

    [Test]
    public async Task ManualInfraction_IsListedNewestFirst_AndBroadcastAsInfractionCreated()
    {
        await using var client = await ConnectAsync(Guild);

        using var first = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/moderation/infractions", new { type = "warn", userId = "200000000000000001", userName = "ada", reason = "first", _dashboardUserId = "9" });
        using var second = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/moderation/infractions", new { type = "mute", userId = "200000000000000002", reason = "second" });
        var e1 = await client.ExpectAsync(LiveEvents.Moderation.InfractionCreated);
        var e2 = await client.ExpectAsync(LiveEvents.Moderation.InfractionCreated);
        var list = await Data(await Http.GetAsync($"/api/guilds/{Guild}/moderation/infractions?limit=2"));
        using var invalid = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/moderation/infractions", new { type = "warn" });

        var infraction = e1.GetProperty("data").GetProperty("infraction");
        Assert.Multiple(() =>
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(infraction.GetProperty("reason").GetString(), Is.EqualTo("first"));
            Assert.That(infraction.GetProperty("source").GetString(), Is.EqualTo("manual"));
            Assert.That(infraction.GetProperty("moderatorId").GetString(), Is.EqualTo("9"), "the acting dashboard user");
            Assert.That(infraction.GetProperty("expiresAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(e2.GetProperty("data").GetProperty("infraction").GetProperty("expiresAt").ValueKind, Is.EqualTo(JsonValueKind.String), "a mute expires");
            Assert.That(list.EnumerateArray().Select(i => i.GetProperty("reason").GetString()), Is.EqualTo(new[] { "second", "first" }));
            Assert.That(invalid.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        });
    }

    [Test]
    public async Task Modmail_Lifecycle_IsEmittedThroughTheRoomAdapter_InOrder()
    {
        await using var client = await ConnectAsync(Guild);

        using var opened = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/modmail/conversations", new { userId = "200000000000000003", userName = "linus", content = "Help please" });
        var id = (await Data(opened)).GetProperty("id").GetString()!;
        var url = $"/api/guilds/{Guild}/modmail/conversations/{id}";
        using var dm = await Http.PostAsJsonAsync($"{url}/messages", new { authorId = "200000000000000003", content = "Anyone?" });
        using var reply = await Http.PostAsJsonAsync($"{url}/messages", new { content = "On it", fromStaff = true, _dashboardUserId = "100000000000000001" });
        using var claim = await Http.PostAsJsonAsync($"{url}/claim", new { _dashboardUserId = "100000000000000001" });
        using var close = await Http.PostAsJsonAsync($"{url}/close", new { reason = "Resolved", _dashboardUserId = "100000000000000001" });
        using var late = await Http.PostAsJsonAsync($"{url}/messages", new { authorId = "200000000000000003", content = "thanks" });
        var detail = await Data(await Http.GetAsync(url));
        var open = await Data(await Http.GetAsync($"/api/guilds/{Guild}/modmail/conversations"));

        var events = new List<JsonElement>();
        for (var i = 0; i < 5; i++)
        {
            events.Add(await client.NextAsync());
        }

        await FlushAsync();
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(events.Select(e => e.GetProperty("event").GetString()), Is.EqualTo(new[]
            {
                LiveEvents.Modmail.ConversationCreated, LiveEvents.Modmail.MessageReceived, LiveEvents.Modmail.MessageSent,
                LiveEvents.Modmail.ConversationClaimed, LiveEvents.Modmail.ConversationClosed,
            }));
            Assert.That(events[0].GetProperty("data").GetProperty("message").GetProperty("content").GetString(), Is.EqualTo("Help please"));
            Assert.That(events[2].GetProperty("data").GetProperty("message").GetProperty("fromStaff").GetBoolean(), Is.True);
            Assert.That(events[2].GetProperty("data").GetProperty("conversation").GetProperty("messageCount").GetInt32(), Is.EqualTo(3));
            Assert.That(events[3].GetProperty("data").GetProperty("claimedBy").GetString(), Is.EqualTo("100000000000000001"));
            Assert.That(events[4].GetProperty("data").GetProperty("metrics").GetProperty("staffMessageCount").GetInt32(), Is.EqualTo(1));
            Assert.That(events[4].GetProperty("data").GetProperty("conversation").GetProperty("closeReason").GetString(), Is.EqualTo("Resolved"));
            Assert.That(late.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), "a closed conversation takes no message");
            Assert.That(detail.GetProperty("messages").GetArrayLength(), Is.EqualTo(3));
            Assert.That(open.EnumerateArray().Select(c => c.GetProperty("id").GetString()), Does.Not.Contain(id), "closed ones are not listed");
            Assert.That(await client.DrainUntilPongAsync(), Is.Empty, "the refused message broadcast nothing");
        });
    }

    [Test]
    public async Task Tags_CreateUpdateDelete_AndADuplicateNameIsAConflict()
    {
        await using var client = await ConnectAsync(Guild);

        using var created = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/tags", new { name = "vc-help", content = "Join #voice" });
        var id = (await Data(created)).GetProperty("id").GetString()!;
        using var duplicate = await Http.PostAsJsonAsync($"/api/guilds/{Guild}/tags", new { name = "vc-help", content = "again" });
        using var updated = await Http.PatchAsJsonAsync($"/api/guilds/{Guild}/tags/{id}", new { content = "Join #voice-1" });
        using var deleted = await Http.DeleteAsync($"/api/guilds/{Guild}/tags/{id}");

        var e1 = await client.ExpectAsync(LiveEvents.Tags.TagCreated);
        var e2 = await client.ExpectAsync(LiveEvents.Tags.TagUpdated);
        var e3 = await client.ExpectAsync(LiveEvents.Tags.TagDeleted);
        Assert.Multiple(() =>
        {
            Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));
            Assert.That(duplicate.StatusCode, Is.EqualTo(HttpStatusCode.Conflict));
            Assert.That(e1.GetProperty("data").GetProperty("tag").GetProperty("name").GetString(), Is.EqualTo("vc-help"));
            Assert.That(e2.GetProperty("data").GetProperty("tag").GetProperty("content").GetString(), Is.EqualTo("Join #voice-1"));
            Assert.That(e3.GetProperty("data").GetProperty("tagId").GetString(), Is.EqualTo(id));
            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task AutoModBotTick_RaisesAnInfractionPerGuildWithEnabledRules_OnlyToThatGuildsSubscribers()
    {
        await using var a = await ConnectAsync(Guild);
        await using var b = await ConnectAsync(OtherGuild);
        var db = App.Services.GetRequiredService<SampleDatabase>();
        foreach (var rule in db.Rules.List(OtherGuild))
        {
            db.Rules.Update(OtherGuild, rule.Id, r => r with { Enabled = false });
        }

        App.Services.GetRequiredService<AutoModBot>().Tick();
        var raised = await a.ExpectAsync(LiveEvents.Moderation.InfractionCreated);
        await FlushAsync();

        var infraction = raised.GetProperty("data").GetProperty("infraction");
        var enabled = db.Rules.List(Guild).Where(r => r.Enabled).Select(r => r.Id).ToList();
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(infraction.GetProperty("source").GetString(), Is.EqualTo("automod"));
            Assert.That(infraction.GetProperty("moderatorId").GetString(), Is.EqualTo(AutoModBot.BotUserId));
            Assert.That(enabled, Does.Contain(infraction.GetProperty("ruleId").GetString()), "an enabled rule of that guild");
            Assert.That(infraction.GetProperty("reason").GetString(), Does.StartWith("Auto-mod: "));
            Assert.That(db.Infractions.List(Guild), Has.Count.EqualTo(1), "written before it was broadcast");
            Assert.That(await b.DrainUntilPongAsync(), Is.Empty, "guild B has no enabled rule: nothing raised, nothing seen");
        });
    }

    [Test]
    public async Task DevToken_OpensBothDevGuilds_AndNamesTheWebSocketUrl()
    {
        var session = await Http.GetFromJsonAsync<JsonElement>("/dev/token");
        var token = session.GetProperty("token").GetString()!;

        await using var client = await TestClient.ConnectAsync(new Uri(session.GetProperty("wsUrl").GetString()!));
        await client.ExpectAsync("connected");
        var authenticated = await client.AuthenticateAsync(token);
        await client.SubscribeAsync(Guild);
        await client.SubscribeAsync(OtherGuild);

        Assert.Multiple(() =>
        {
            Assert.That(session.GetProperty("wsUrl").GetString(), Is.EqualTo(Ws.ToString()), "the socket URL of this mode (the API's own port and /live in one-port mode)");
            Assert.That(session.GetProperty("userId").GetString(), Is.EqualTo(SampleHostApp.DevUserId));
            Assert.That(authenticated.GetProperty("data").GetProperty("guilds").EnumerateArray().Select(g => g.GetString()), Is.EquivalentTo(SampleHostApp.DevGuildIds));
        });
    }

    [TestCase("/", "text/html", "Sample dashboard")]
    [TestCase("/app.js", "text/javascript", "realtimeData(")]
    [TestCase("/lib/live-updates.js", "text/javascript", "export class LiveUpdatesClient")]
    [TestCase("/lib/live-events.js", "text/javascript", "moderation:infraction_created")]
    public async Task DashboardPage_IsServedByTheSampleOnItsApiPort(string path, string mediaType, string contains)
    {
        using var response = await Http.GetAsync(path);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo(mediaType));
            Assert.That(body, Does.Contain(contains));
        });
    }

    private async Task<TestClient> ConnectAsync(string guildId)
    {
        var client = await TestClient.ConnectAsync(Ws);
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(DevelopmentTokens.Create(App.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<LiveUpdatesOptions>>().Value, SampleHostApp.DevUserId, SampleHostApp.DevGuildIds, TimeSpan.FromMinutes(5)));
        await client.SubscribeAsync(guildId);
        return client;
    }

    private Task FlushAsync() => Wait.ForAsync(App.Services.GetRequiredService<WebSocketManager>().FlushAsync(), "dispatcher flush");

    private static async Task<JsonElement> Data(HttpResponseMessage response)
    {
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(json.GetProperty("success").GetBoolean(), Is.True, json.ToString());
        return json.GetProperty("data").Clone();
    }
}
