using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveUpdates.SampleHost;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Hosting;

/// <summary>
/// The sample is an example people copy (issue 20, items 2 and 6): the acting user comes only from the session, the
/// development routes exist only in Development, and the simulated bot's member events revoke at once.
/// </summary>
[TestFixture]
public sealed class SampleSecurityTests
{
    private const string Guild = SampleHostApp.DevGuildId;
    private const string Acting = "100000000000000001";
    private const string Impostor = "666666666666666666";

    private RunningSample _sample = null!;

    [SetUp]
    public async Task SetUp() => _sample = await RunningSample.StartAsync();

    [TearDown]
    public async Task TearDown() => await _sample.DisposeAsync();

    private HttpClient Http => _sample.Http;

    [Test]
    public async Task TheActingUser_IsOnlyTheSessionsOne_BodyFieldsNamingSomeoneElseAreIgnored()
    {
        var infraction = await Data(await Http.PostAsJsonAsync($"/api/guilds/{Guild}/moderation/infractions",
            new { type = "warn", userId = "200000000000000001", reason = "r", moderatorId = Impostor, _dashboardUserId = Acting }));
        var opened = await Data(await Http.PostAsJsonAsync($"/api/guilds/{Guild}/modmail/conversations", new { userId = "200000000000000003", userName = "linus", content = "Help" }));
        var url = $"/api/guilds/{Guild}/modmail/conversations/{opened.GetProperty("id").GetString()}";
        var reply = await Data(await Http.PostAsJsonAsync($"{url}/messages", new { content = "On it", authorId = Impostor, authorName = "someone else", fromStaff = false, _dashboardUserId = Acting }));
        using var claimWithoutSession = await Http.PostAsJsonAsync($"{url}/claim", new { staffId = Impostor });
        var claimed = await Data(await Http.PostAsJsonAsync($"{url}/claim", new { staffId = Impostor, _dashboardUserId = Acting }));
        var closed = await Data(await Http.PostAsJsonAsync($"{url}/close", new { staffId = Impostor, reason = "done", _dashboardUserId = Acting }));

        Assert.Multiple(() =>
        {
            Assert.That(infraction.GetProperty("moderatorId").GetString(), Is.EqualTo(Acting));
            Assert.That(reply.GetProperty("authorId").GetString(), Is.EqualTo(Acting), "a dashboard message is the acting user's");
            Assert.That(reply.GetProperty("fromStaff").GetBoolean(), Is.True);
            Assert.That(claimWithoutSession.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "staffId alone names nobody");
            Assert.That(claimed.GetProperty("claimedBy").GetString(), Is.EqualTo(Acting));
            Assert.That(closed.GetProperty("closedBy").GetString(), Is.EqualTo(Acting));
        });
    }

    [Test]
    public async Task DevRoutes_ExistOnlyInDevelopment()
    {
        using var development = await Http.GetAsync("/dev/token");
        await using var production = SampleHostApp.Build(["--API_PORT=0", $"--LiveUpdates:Port={Ports.GetFree()}", "--LiveUpdates:Host=127.0.0.1", $"--AUTH_SECRET={TestTokens.Secret}", "--SampleHost:Quiet=true", "--SampleBot:AutoModInterval=00:00:00", "--environment=Production"]);
        await production.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(production.Urls.Single()) };
        using var token = await http.GetAsync("/dev/token");
        using var signOut = await http.PostAsync($"/dev/users/{SampleHostApp.DevUserId}/sign-out", null);
        await production.StopAsync();

        Assert.Multiple(() =>
        {
            Assert.That(development.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(token.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That(signOut.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        });
    }

    [Test]
    public async Task TheSimulatedBot_RemovingTheMember_RefusesTheGuildWithinASecond_SigningOut_Closes4001()
    {
        await using var client = await TestClient.ConnectAsync(_sample.Ws);
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(DevelopmentTokens.Create(TestTokens.Secret, SampleHostApp.DevUserId, SampleHostApp.DevGuildIds, TimeSpan.FromMinutes(5)));
        await client.SubscribeAsync(Guild);
        await client.SubscribeAsync(SampleHostApp.OtherDevGuildId);

        var started = DateTime.UtcNow;
        using var removed = await Http.PostAsync($"/dev/members/{Guild}/{SampleHostApp.DevUserId}/remove", null);
        var refused = await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);
        var elapsed = DateTime.UtcNow - started;
        using var signedOut = await Http.PostAsync($"/dev/users/{SampleHostApp.DevUserId}/sign-out", null);
        var (status, reason) = await Wait.ForAsync(client.Closed, "the dashboard's socket closes");

        Assert.Multiple(() =>
        {
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            Assert.That(refused.GetProperty("guildId").GetString(), Is.EqualTo(Guild));
            Assert.That(elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
            Assert.That((int?)status, Is.EqualTo(4001));
            Assert.That(reason, Is.EqualTo("USER_DISCONNECTED"));
        });
    }

    private static async Task<JsonElement> Data(HttpResponseMessage response)
    {
        using (response)
        {
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.That(json.GetProperty("success").GetBoolean(), Is.True, json.ToString());
            return json.GetProperty("data").Clone();
        }
    }
}
