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
[TestFixture]
[NonParallelizable]
public sealed class SampleHostTests
{
    private const string Guild = SampleHostApp.DevGuildId;

    private WebApplication _app = null!;
    private HttpClient _http = null!;
    private Uri _ws = null!;

    [SetUp]
    public async Task SetUp()
    {
        var wsPort = Ports.GetFree();
        _app = SampleHostApp.Build(
        [
            "--API_PORT=0",
            $"--LiveUpdates:Port={wsPort}",
            "--LiveUpdates:Host=127.0.0.1",
            $"--AUTH_SECRET={TestTokens.Secret}",
            "--Logging:LogLevel:Default=Warning",
            "--SampleHost:Quiet=true",
            "--SampleBot:AutoModInterval=00:00:00", // no simulated infractions in the middle of a test
        ]);
        await _app.StartAsync();
        _http = new HttpClient { BaseAddress = new Uri(_app.Urls.Single()), Timeout = TimeSpan.FromSeconds(10) };
        _ws = new Uri($"ws://127.0.0.1:{wsPort}/");
    }

    [TearDown]
    public async Task TearDown()
    {
        _http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Test]
    public async Task PutModerationConfig_StoresIt_ThenBroadcastsConfigUpdated()
    {
        await using var client = await ConnectDashboardAsync();

        using var put = await _http.PutAsJsonAsync($"/api/guilds/{Guild}/moderation/config", new { automod = true, maxMentions = 5, _dashboardUserId = "777" });
        var body = await put.Content.ReadFromJsonAsync<JsonElement>();
        var envelope = await client.ExpectAsync(LiveEvents.Moderation.ConfigUpdated);

        // Emission comes after the write: when the event is seen, the stored config already is the new one.
        var stored = await _http.GetFromJsonAsync<JsonElement>($"/api/guilds/{Guild}/moderation/config");
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
    public async Task PutModerationConfig_OtherGuild_IsNotSeenByThisDashboard()
    {
        await using var client = await ConnectDashboardAsync();

        using var put = await _http.PutAsJsonAsync("/api/guilds/999999999999999999/moderation/config", new { automod = false });
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await _app.Services.GetRequiredService<WebSocketManager>().FlushAsync();

        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [TestCase("not json")]
    [TestCase("[1,2]")]
    public async Task PutModerationConfig_BadBody_400_AndNoBroadcast(string body)
    {
        await using var client = await ConnectDashboardAsync();

        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var put = await _http.PutAsync($"/api/guilds/{Guild}/moderation/config", content);
        await _app.Services.GetRequiredService<WebSocketManager>().FlushAsync();

        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await client.DrainUntilPongAsync(), Is.Empty);
    }

    [Test]
    public async Task WithoutAnAuthSecret_TheSampleGeneratesOne()
    {
        await using var app = SampleHostApp.Build(["--AUTH_SECRET=", "--LiveUpdates:AuthSecret="]);
        var secret = app.Services.GetRequiredService<IOptions<LiveUpdatesOptions>>().Value.AuthSecret;

        Assert.That(secret, Is.Not.Null.And.Length.GreaterThanOrEqualTo(32));
    }

    private async Task<TestClient> ConnectDashboardAsync()
    {
        var client = await TestClient.ConnectAsync(_ws);
        await client.ExpectAsync("connected");

        // The same kind of token the sample prints for a person to paste into a browser console.
        var token = DevelopmentTokens.Create(TestTokens.Secret, SampleHostApp.DevUserId, [Guild], TimeSpan.FromMinutes(5));
        await client.AuthenticateAsync(token);
        await client.SubscribeAsync(Guild);
        return client;
    }
}
