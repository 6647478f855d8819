using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LiveUpdates.BrowserTests.Infrastructure;
using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Plugins.Moderation;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LiveUpdates.BrowserTests;

/// <summary>
/// The sample dashboard page in real headless Chromium against the real sample host: what a person looking at the
/// page sees when data changes, when another guild changes, and when the bot restarts.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DashboardPageTests
{
    private const string GuildA = SampleHostApp.DevGuildId;
    private const string GuildB = SampleHostApp.OtherDevGuildId;

    /// <summary>How long a change may take to show in another page: generous for a loaded 2-core CI machine, still "live".</summary>
    private static readonly TimeSpan LiveBound = TimeSpan.FromSeconds(5);

    private Browser _browser = null!;
    private RunningSampleHost? _host;

    [OneTimeSetUp]
    public async Task LaunchBrowser()
    {
        SetDefaultExpectTimeout(10_000);
        _browser = await Browser.LaunchAsync();
    }

    [OneTimeTearDown]
    public async Task CloseBrowser()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }
    }

    [TearDown]
    public async Task StopHost()
    {
        foreach (var page in _browser.Context.Pages.ToList())
        {
            await page.CloseAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
            _host = null;
        }
    }

    [Test]
    public async Task TwoPagesOnOneGuild_AChangeMadeInOne_ShowsInTheOther_WithoutReload()
    {
        _host = await RunningSampleHost.StartAsync();
        var first = await OpenDashboardAsync(GuildA);
        var second = await OpenDashboardAsync(GuildA);
        var rule = $"No scam links {Guid.NewGuid().ToString("N")[..6]}";

        // A rule added through the first page's form (a POST to the API) appears in the second page.
        await first.Page.FillAsync("#rule-name", rule);
        var watch = Stopwatch.StartNew();
        await first.Page.ClickAsync("#rule-add");
        await Expect(RuleRow(second.Page, rule)).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        TestContext.Progress.WriteLine($"new rule visible in the other page after {watch.ElapsedMilliseconds} ms");

        // Toggled off in the second page: the first shows it disabled.
        await RuleRow(second.Page, rule).Locator("input.toggle").UncheckAsync();
        await Expect(RuleRow(first.Page, rule)).ToHaveClassAsync(new System.Text.RegularExpressions.Regex(@"\bdisabled\b"), new() { Timeout = (float)LiveBound.TotalMilliseconds });

        // The config saved in the first page shows in the second.
        await first.Page.UncheckAsync("#config-automod");
        await first.Page.FillAsync("#config-max-mentions", "9");
        await first.Page.ClickAsync("#config-save");
        await Expect(second.Page.Locator("#config-max-mentions")).ToHaveValueAsync("9", new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await Expect(second.Page.Locator("#config-automod")).Not.ToBeCheckedAsync();
        await Expect(second.Page.Locator("#config-meta")).ToHaveTextAsync("saved by you");

        // A member DMs the bot (the bot side, not a page): both pages list the conversation; a claim in one shows in the other.
        using var dm = await _host.Http.PostAsJsonAsync($"/api/guilds/{GuildA}/modmail/conversations", new { userId = "200000000000000042", userName = "hedy", content = "Is anyone there?" });
        Assert.That(dm.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var conversation = first.Page.Locator("#modmail-list li", new() { HasText = "hedy" });
        await Expect(conversation).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await Expect(second.Page.Locator("#modmail-list li", new() { HasText = "hedy" })).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await second.Page.Locator("#modmail-list li", new() { HasText = "hedy" }).Locator("button.claim").ClickAsync();
        await Expect(conversation.Locator(".badge")).ToHaveTextAsync("claimed", new() { Timeout = (float)LiveBound.TotalMilliseconds });

        // Deleted in the first page: gone from the second.
        await RuleRow(first.Page, rule).Locator("button.delete").ClickAsync();
        await Expect(RuleRow(second.Page, rule)).ToHaveCountAsync(0, new() { Timeout = (float)LiveBound.TotalMilliseconds });

        await Browser.ScreenshotAsync(second.Page, "two-pages-second-page");
        await first.AssertNotReloadedAsync();
        await second.AssertNotReloadedAsync();
    }

    [Test]
    public async Task PageOnGuildA_NeverShowsGuildBsEvents()
    {
        _host = await RunningSampleHost.StartAsync();
        var pageA = await OpenDashboardAsync(GuildA);
        var pageB = await OpenDashboardAsync(GuildB);
        var secret = $"only-in-b-{Guid.NewGuid().ToString("N")[..6]}";

        // Changes in guild B, through the API: page B shows each of them (the positive control)…
        await PostAsync($"/api/guilds/{GuildB}/moderation/rules", new { name = secret, type = "keyword", action = "ban" });
        await PostAsync($"/api/guilds/{GuildB}/tags", new { name = secret, content = "guild B only" });
        await PostAsync($"/api/guilds/{GuildB}/moderation/infractions", new { type = "kick", userId = "200000000000000009", userName = secret, reason = "guild B only" });
        await PostAsync($"/api/guilds/{GuildB}/modmail/conversations", new { userId = "200000000000000009", userName = secret, content = "guild B only" });
        await Expect(RuleRow(pageB.Page, secret)).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await Expect(pageB.Page.Locator("#modmail-list li", new() { HasText = secret })).ToBeVisibleAsync();
        await Expect(pageB.Page.Locator("#toasts .toast", new() { HasText = "kick" })).ToBeVisibleAsync();

        // …then a change in guild A, after them: once page A shows it, anything of B's would have arrived before it.
        var marker = $"guild-a-marker-{Guid.NewGuid().ToString("N")[..6]}";
        await PostAsync($"/api/guilds/{GuildA}/moderation/rules", new { name = marker, type = "caps", action = "warn" });
        await Expect(RuleRow(pageA.Page, marker)).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });

        var panelsA = await pageA.Page.Locator("main").InnerTextAsync();
        var toastsA = await pageA.Page.Locator("#toasts").InnerTextAsync();
        Assert.Multiple(() =>
        {
            Assert.That(panelsA, Does.Not.Contain(secret), "page A's panels");
            Assert.That(toastsA, Does.Not.Contain("kick"), "page A's toasts");
            var events = pageA.ReceivedEvents();
            Assert.That(events.Select(e => e.GuildId).Distinct(), Is.EqualTo(new[] { GuildA }), "every event frame page A's socket received");
            Assert.That(events.Select(e => e.Event), Does.Contain(LiveEvents.Moderation.RuleCreated));
            Assert.That(pageB.ReceivedEvents().Select(e => e.GuildId).Distinct(), Is.EqualTo(new[] { GuildB }));
        });
        await Browser.ScreenshotAsync(pageA.Page, "guild-a-while-guild-b-changes");
    }

    [Test]
    public async Task ServerRestart_ShowsReconnecting_ThenLive_AndTheChangeMadeWhileDisconnected()
    {
        _host = await RunningSampleHost.StartAsync();
        var page = await OpenDashboardAsync(GuildA);
        var rules = _host.Service<ModerationRulesService>();
        var indicator = page.Page.Locator("#connection .label");

        await _host.StopAsync();
        await Expect(indicator).ToHaveTextAsync("Reconnecting…");
        await Expect(page.Page.Locator("#connection")).ToHaveAttributeAsync("data-status", "reconnecting");

        // While no dashboard can hear it, the bot writes (its broadcast goes nowhere: the server is down).
        var name = $"Added while offline {Guid.NewGuid().ToString("N")[..6]}";
        rules.Create(GuildA, new RuleDraft(name, "keyword", "offline", "warn", 1, true), SampleHostApp.DevUserId);
        await Browser.ScreenshotAsync(page.Page, "restart-reconnecting");

        await _host.RestartAsync(); // same ports, same AUTH_SECRET, same database, a new epoch
        var watch = Stopwatch.StartNew();
        await Expect(indicator).ToHaveTextAsync("Live", new() { Timeout = 30_000 });
        TestContext.Progress.WriteLine($"Live again {watch.ElapsedMilliseconds} ms after the restart");

        // The new server cannot replay the old epoch (recovered: false), so the page refetched and shows the change.
        await Expect(RuleRow(page.Page, name)).ToBeVisibleAsync();
        await Expect(page.Page.Locator("body")).ToHaveAttributeAsync("data-last-sync", "refetch");
        Assert.That(page.SubscribedMessages().Last().GetProperty("data").GetProperty("recovered").GetBoolean(), Is.False);

        // And it is live on the new server.
        await PostAsync($"/api/guilds/{GuildA}/tags", new { name = "after-restart", content = "live again" });
        await Expect(page.Page.Locator("#tags-list li", new() { HasText = "after-restart" })).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await page.AssertNotReloadedAsync();
        await Browser.ScreenshotAsync(page.Page, "restart-live-again");
    }

    [Test]
    public async Task InfractionRaisedByTheBot_ShowsInTheFeed_WithAToast()
    {
        _host = await RunningSampleHost.StartAsync(autoModInterval: TimeSpan.FromMilliseconds(700));
        var page = await OpenDashboardAsync(GuildA);

        var toast = page.Page.Locator("#toasts .toast", new() { HasText = "New infraction:" }).First;
        await Expect(toast).ToBeVisibleAsync();
        await Expect(toast).ToContainTextAsync("Auto-mod:");
        await Expect(page.Page.Locator("#infractions-list li").First).ToContainTextAsync("auto-mod");
        await Expect(page.Page.Locator("#log-list li", new() { HasText = LiveEvents.Moderation.InfractionCreated }).First).ToBeVisibleAsync();

        // The bot keeps going: every fourth tick a member DMs it, and the modmail panel grows without a reload.
        await Expect(page.Page.Locator("#log-list li", new() { HasText = LiveEvents.Modmail.ConversationCreated }).First).ToBeVisibleAsync();
        Assert.That(await page.Page.Locator("#modmail-list li").CountAsync(), Is.GreaterThanOrEqualTo(2), "the seeded conversation and the bot's");
        await page.AssertNotReloadedAsync();
        await Browser.ScreenshotAsync(page.Page, "dashboard-live");
    }

    [Test]
    public async Task TheBotRemovingTheUser_ShowsForbiddenAtOnce_AndSigningThemOut_TurnsThePageOffline()
    {
        _host = await RunningSampleHost.StartAsync();
        var page = await OpenDashboardAsync(GuildA);

        // The simulated bot's member events (docs/security.md, "Revocation"): removed from guild A, then signed out.
        using (var removed = await _host.Http.PostAsync($"/dev/members/{GuildA}/{SampleHostApp.DevUserId}/remove", null))
        {
            Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        await Expect(page.Page.Locator("#log-list li", new() { HasText = "server error FORBIDDEN" }).First).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        using (var signedOut = await _host.Http.PostAsync($"/dev/users/{SampleHostApp.DevUserId}/sign-out", null))
        {
            Assert.That(signedOut.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        await Expect(page.Page.Locator("#connection")).ToHaveAttributeAsync("data-status", "closed", new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await Browser.ScreenshotAsync(page.Page, "dashboard-revoked");
    }

    private static ILocator RuleRow(IPage page, string name) => page.Locator("#rules-list li", new() { HasText = name });

    private async Task PostAsync(string path, object body)
    {
        using var response = await _host!.Http.PostAsJsonAsync(path, body);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), $"POST {path}: {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<DashboardPage> OpenDashboardAsync(string guildId)
    {
        var page = await _browser.Context.NewPageAsync();
        var dashboard = new DashboardPage(page);
        await page.GotoAsync(_host!.PageUrl(guildId));
        await Expect(page.Locator("#connection .label")).ToHaveTextAsync("Live");
        await Expect(page.Locator("#rules-list li").First).ToBeVisibleAsync(); // fetched
        await dashboard.MarkAsync();
        return dashboard;
    }

    /// <summary>A page and every WebSocket frame it received.</summary>
    private sealed class DashboardPage
    {
        private readonly ConcurrentQueue<string> _frames = new();
        private readonly string _mark = Guid.NewGuid().ToString("N");

        public DashboardPage(IPage page)
        {
            Page = page;
            page.WebSocket += (_, ws) => ws.FrameReceived += (_, frame) => _frames.Enqueue(frame.Text ?? "");
        }

        public IPage Page { get; }

        /// <summary>Leaves a value in the page's JavaScript state that a reload would wipe.</summary>
        public Task MarkAsync() => Page.EvaluateAsync($"() => {{ window.__testMark = '{_mark}'; }}");

        public async Task AssertNotReloadedAsync() =>
            Assert.That(await Page.EvaluateAsync<string?>("() => window.__testMark ?? null"), Is.EqualTo(_mark), "the page was not reloaded");

        /// <summary>The plugin events (envelopes with a seq) this page's sockets received.</summary>
        public List<(string Event, string GuildId)> ReceivedEvents() =>
            Messages().Where(m => m.TryGetProperty("seq", out _))
                .Select(m => (m.GetProperty("event").GetString()!, m.GetProperty("guildId").GetString()!))
                .ToList();

        public List<JsonElement> SubscribedMessages() =>
            Messages().Where(m => m.GetProperty("event").GetString() == "subscribed").ToList();

        private IEnumerable<JsonElement> Messages() =>
            _frames.SelectMany(f => f.Split('\n')).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone()); // packed (batch) frames hold several
    }
}
