using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveUpdates.SampleHost;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Tests.Hosting;

/// <summary>The sample host as a newcomer runs it: its HTTP API and its WebSocket server, for real.</summary>
[TestFixture(SampleTransport.HttpListener)]
[TestFixture(SampleTransport.OnePort)]
[NonParallelizable]
public sealed class SampleHostTests(SampleTransport transport)
{
    private const string Guild = SampleHostApp.DevGuildId;

    private RunningSample _sample = null!;

    [SetUp]
    public async Task SetUp() => _sample = await RunningSample.StartAsync(transport);

    [TearDown]
    public async Task TearDown() => await _sample.DisposeAsync();

    private WebApplication App => _sample.App;

    private HttpClient Http => _sample.Http;

    private Uri Ws => _sample.Ws;

    [Test]
    public async Task PutModerationConfig_StoresIt_ThenBroadcastsConfigUpdated()
    {
        await using var client = await ConnectDashboardAsync();

        using var put = await Http.PutAsJsonAsync($"/api/guilds/{Guild}/moderation/config", new { automod = true, maxMentions = 5, _dashboardUserId = "777" });
        var body = await put.Content.ReadFromJsonAsync<JsonElement>();
        var envelope = await client.ExpectAsync(LiveEvents.Moderation.ConfigUpdated);

        // Emission comes after the write: when the event is seen, the stored config already is the new one.
        var stored = await Http.GetFromJsonAsync<JsonElement>($"/api/guilds/{Guild}/moderation/config");
        Assert.Multiple(() =>
        {
            Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(body.GetProperty("success").GetBoolean(), Is.True);
            Assert.That(body.GetProperty("data").GetProperty("maxMentions").GetInt32(), Is.EqualTo(5));
            Assert.That(body.GetProperty("data").TryGetProperty("_dashboardUserId", out _), Is.False);
            Assert.That(envelope.GetProperty("guildId").GetString(), Is.EqualTo(Guild));
            Assert.That(envelope.GetProperty("data").GetProperty("config").GetProperty("automod").GetBoolean(), Is.True);
            Assert.That(envelope.GetProperty("data").GetProperty("updatedBy").GetString(), Is.EqualTo("777"));
            Assert.That(stored.GetProperty("data").GetProperty("maxMentions").GetInt32(), Is.EqualTo(5));
        });
    }

    [Test]
    public async Task WebSocket_AllowsTheDevDashboardOrigin_AndRefusesOthers()
    {
        var options = App.Services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;
        Assert.That(options.AllowedOrigins, Does.Contain(SampleHostApp.DevDashboardOrigin), "not 'any origin'");

        using var allowed = new System.Net.WebSockets.ClientWebSocket();
        allowed.Options.SetRequestHeader("Origin", SampleHostApp.DevDashboardOrigin);
        using var refused = new System.Net.WebSockets.ClientWebSocket();
        refused.Options.SetRequestHeader("Origin", "https://elsewhere.example");
        refused.Options.CollectHttpResponseDetails = true;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        await allowed.ConnectAsync(Ws, timeout.Token);
        Assert.ThrowsAsync<System.Net.WebSockets.WebSocketException>(() => refused.ConnectAsync(Ws, timeout.Token));

        Assert.Multiple(() =>
        {
            Assert.That(allowed.State, Is.EqualTo(System.Net.WebSockets.WebSocketState.Open));
            Assert.That(refused.HttpStatusCode, Is.EqualTo(HttpStatusCode.Forbidden));
        });
    }

    [Test]
    public async Task PutModerationConfig_OtherGuild_IsNotSeenByThisDashboard()
    {
        await using var client = await ConnectDashboardAsync();

        using var put = await Http.PutAsJsonAsync("/api/guilds/999999999999999999/moderation/config", new { automod = false });
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await App.Services.GetRequiredService<WebSocketManager>().FlushAsync();

        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [TestCase("not json")]
    [TestCase("[1,2]")]
    public async Task PutModerationConfig_BadBody_400_AndNoBroadcast(string body)
    {
        await using var client = await ConnectDashboardAsync();

        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var put = await Http.PutAsync($"/api/guilds/{Guild}/moderation/config", content);
        await App.Services.GetRequiredService<WebSocketManager>().FlushAsync();

        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [Test]
    public async Task WithoutATokenKey_TheSampleGeneratesOne_AndAcceptsNoSessionTokens()
    {
        // One command on a fresh machine: no LIVEUPDATES_TOKEN_KEY, no AUTH_SECRET, and the sample still starts.
        await using var app = SampleHostApp.Build(["--LIVEUPDATES_TOKEN_KEY=", "--LiveUpdates:ConnectionTokenKey=", "--AUTH_SECRET=", "--LiveUpdates:AuthSecret="]);
        var options = app.Services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value;

        Assert.That(options.ConnectionTokenKey, Is.Not.Null.And.Length.GreaterThanOrEqualTo(32));
        Assert.That(options.AcceptSessionTokens, Is.False);
    }

    private async Task<TestClient> ConnectDashboardAsync()
    {
        var client = await TestClient.ConnectAsync(Ws);
        await client.ExpectAsync("connected");

        // The same kind of token the sample prints for a person to paste into a browser console.
        var token = DevelopmentTokens.Create(App.Services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value, SampleHostApp.DevUserId, [Guild], TimeSpan.FromMinutes(5));
        await client.AuthenticateAsync(token);
        await client.SubscribeAsync(Guild);
        return client;
    }
}
