using System.Diagnostics;
using System.Net;
using LiveUpdates.BrowserTests.Infrastructure;
using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Bot;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LiveUpdates.BrowserTests;

/// <summary>
/// The whole real chain, end to end in Debian's Chromium: <c>samples/nextjs-dashboard</c> (Next.js, next-auth, the
/// @liveupdates/client/react package as installed from the workspace) signs a user in through its real form; the
/// session cookie next-auth made is handed to the page by <c>/api/live-token</c> and decrypted by LiveUpdates in the
/// sample host, which then serves that user's guilds, and only those, live.
/// </summary>
[TestFixture(SampleTransport.HttpListener)]
[TestFixture(SampleTransport.OnePort)]
[NonParallelizable]
public sealed class NextJsDashboardTests(SampleTransport transport)
{
    private const string GuildA = SampleHostApp.DevGuildId;
    private const string GuildB = SampleHostApp.OtherDevGuildId;
    private const string Ada = "100000000000000001"; // guilds A and B (samples/nextjs-dashboard/lib/users.ts)
    private const string Linus = "100000000000000003"; // guild B only

    private static readonly TimeSpan LiveBound = TimeSpan.FromSeconds(5);

    private Browser _browser = null!;
    private RunningSampleHost _host = null!;
    private RunningNextApp _next = null!;

    [OneTimeSetUp]
    public async Task StartEverything()
    {
        SetDefaultExpectTimeout(10_000);
        // The host lets browsers connect from the dashboard's origin only (besides its own page), as a deployment would.
        var port = RunningNextApp.ChoosePort();
        _host = await RunningSampleHost.StartAsync(transport, null, $"--LiveUpdates:AllowedOrigins:0={RunningNextApp.Origin(port)}");
        _next = await RunningNextApp.StartAsync(_host, port);
        _browser = await Browser.LaunchAsync();
    }

    [OneTimeTearDown]
    public async Task StopEverything()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        if (_next is not null)
        {
            await _next.DisposeAsync();
        }

        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [TearDown]
    public async Task SignedOutAndClosed()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed && _next is not null)
        {
            TestContext.Out.WriteLine("next start output:\n" + _next.Output);
        }

        foreach (var page in _browser.Context.Pages.ToList())
        {
            await page.CloseAsync();
        }

        await _browser.Context.ClearCookiesAsync();
        if (_host.App is null)
        {
            await _host.RestartAsync();
        }
    }

    [Test]
    public async Task SignedIn_GoesLive_AndChangesFromASecondPageAndFromTheBot_ShowWithoutReload()
    {
        var first = await SignInAsync("ada");
        await OpenGuildAsync(first, GuildA);
        var authenticated = first.Messages().Single(m => m.GetProperty("event").GetString() == "authenticated").GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(authenticated.GetProperty("userId").GetString(), Is.EqualTo(Ada), "the Discord id the jwt callback put in next-auth's token, as LiveUpdates read it");
            Assert.That(authenticated.GetProperty("batch").GetBoolean(), Is.True, "the package declares batch and the server confirmed it");
            Assert.That(authenticated.GetProperty("expiresInMs").GetInt64(), Is.InRange(1, 300_000), "a connection token of at most 5 minutes, not the 8-hour session");
        });

        var second = new NextDashboardPage(await _browser.Context.NewPageAsync()); // the same user in another tab
        await OpenGuildAsync(second, GuildA);

        // A rule added through the first page's form (through the dashboard's API proxy) appears in the second page.
        var rule = $"No scam links {Guid.NewGuid().ToString("N")[..6]}";
        await first.Page.FillAsync("[data-testid=rule-name]", rule);
        var watch = Stopwatch.StartNew();
        await first.Page.ClickAsync("[data-testid=add-rule]");
        await Expect(RuleRow(second.Page, rule)).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        TestContext.Progress.WriteLine($"new rule visible in the other page after {watch.ElapsedMilliseconds} ms");

        // Disabled in the second: the first shows it disabled; the config saved in the first shows in the second.
        await RuleRow(second.Page, rule).GetByRole(AriaRole.Button, new() { Name = "Disable" }).ClickAsync();
        await Expect(RuleRow(first.Page, rule)).ToHaveAttributeAsync("data-enabled", "false", new() { Timeout = (float)LiveBound.TotalMilliseconds });
        var automod = await first.Page.IsCheckedAsync("[data-testid=automod]");
        await first.Page.ClickAsync("[data-testid=automod]"); // a controlled checkbox: it changes when the save's event comes back
        if (automod)
        {
            await Expect(second.Page.Locator("[data-testid=automod]")).Not.ToBeCheckedAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        }
        else
        {
            await Expect(second.Page.Locator("[data-testid=automod]")).ToBeCheckedAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        }

        // The simulated bot raises an auto-mod infraction: a toast in both pages, and the feed of the second, which
        // switches tab by client-side navigation on the same socket.
        await second.Page.GetByRole(AriaRole.Link, new() { Name = "Infractions" }).ClickAsync();
        await Expect(second.Page.Locator("[data-testid=infractions]")).ToBeVisibleAsync();
        _host.Service<AutoModBot>().Tick();
        await Expect(first.Page.Locator("[data-testid=toast]", new() { HasText = "New infraction:" }).First).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await Expect(second.Page.Locator("[data-testid=infraction]", new() { HasText = "Auto-mod:" }).First).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await Expect(second.Page.Locator("[data-testid=toast]", new() { HasText = "New infraction:" }).First).ToBeVisibleAsync();

        await Browser.ScreenshotAsync(first.Page, "nextjs-guild-a");
        await first.AssertNotReloadedAsync();
        await second.AssertNotReloadedAsync();
        Assert.That(second.Sockets, Is.EqualTo(1), "one WebSocket for the tab, kept across the tab switch");

        // Guild switches (client-side, through the header's switcher) keep that socket too: the provider sits above
        // the guild pages (app/guilds/layout.tsx), not in app/guilds/[guildId]/layout.tsx.
        foreach (var (name, id) in new[] { ("Guild B", GuildB), ("Guild A", GuildA), ("Guild B", GuildB) })
        {
            await first.Page.Locator(".guild-switch").GetByRole(AriaRole.Link, new() { Name = name }).ClickAsync();
            await Expect(first.Page.Locator(".guild h1")).ToContainTextAsync(id);
            await Expect(first.Page.Locator("[data-testid=rule]").First).ToBeVisibleAsync();
        }

        await Expect(first.Page.Locator(".live-indicator")).ToHaveAttributeAsync("data-status", "live");
        await first.AssertNotReloadedAsync();
        Assert.That(first.Sockets, Is.EqualTo(1), "one WebSocket for the tab, kept across three guild switches");
        Assert.That(first.SocketUrls.Concat(second.SocketUrls), Has.All.Matches<string>(_host.IsItsWebSocket), $"the dashboard found the host's socket ({_host.WsUrl}, from LIVEUPDATES_WS_URL)");
        first.AssertNoErrors();
        second.AssertNoErrors();
    }

    [Test]
    public async Task AUserWhoseTokenDoesNotGrantAGuild_GetsNoDataForIt()
    {
        var page = await SignInAsync("linus");
        // The positive control: linus's own guild is live.
        await OpenGuildAsync(page, GuildB);
        var authenticated = page.Messages().First(m => m.GetProperty("event").GetString() == "authenticated").GetProperty("data");
        Assert.That(authenticated.GetProperty("userId").GetString(), Is.EqualTo(Linus));
        Assert.That(authenticated.GetProperty("guilds").EnumerateArray().Select(g => g.GetString()), Is.EqualTo(new[] { GuildB }));

        // Guild A: the bot refuses the subscription and the dashboard's API proxy refuses the data.
        var secret = $"guild-a-only-{Guid.NewGuid().ToString("N")[..6]}";
        _host.Service<ModerationRulesService>().Create(GuildA, new RuleDraft(secret, "keyword", "x", "warn", 1, true), Ada);
        await page.Page.GotoAsync(_next.Url($"/guilds/{GuildA}"));
        await Expect(page.Page.Locator("[data-testid=access-error]")).ToContainTextAsync("FORBIDDEN");
        // The package's own indicator says so (not "Live"): useGuildSubscription's refusal, through <ConnectionIndicator>.
        await Expect(page.Page.Locator(".live-indicator")).ToHaveAttributeAsync("data-status", "refused");
        await Expect(page.Page.Locator(".live-indicator")).ToHaveTextAsync("No access");
        await Expect(page.Page.Locator("[data-testid=rules] .error")).ToHaveTextAsync("You have no access to this guild.");
        var response = await page.Page.APIRequest.GetAsync(_next.Url($"/api/guilds/{GuildA}/moderation/rules"));
        Assert.That(response.Status, Is.EqualTo((int)HttpStatusCode.Forbidden));

        // A change in guild A, then one in guild B: once B's shows, anything of A's would have arrived before it.
        _host.Service<ModerationRulesService>().Create(GuildA, new RuleDraft(secret + "-2", "keyword", "x", "warn", 1, true), Ada);
        await page.Page.GotoAsync(_next.Url($"/guilds/{GuildB}"));
        await Expect(page.Page.Locator(".live-indicator")).ToHaveAttributeAsync("data-status", "live");
        var marker = $"guild-b-marker-{Guid.NewGuid().ToString("N")[..6]}";
        _host.Service<ModerationRulesService>().Create(GuildB, new RuleDraft(marker, "keyword", "x", "warn", 1, true), Linus);
        await Expect(RuleRow(page.Page, marker)).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        Assert.Multiple(() =>
        {
            Assert.That(page.Frames(), Has.None.Contains(secret), "no frame of linus's sockets carried guild A's rule");
            var guildAEvents = page.Messages().Where(m => m.TryGetProperty("seq", out _) && m.GetProperty("guildId").GetString() == GuildA);
            Assert.That(guildAEvents, Is.Empty, "no event of guild A reached linus");
            Assert.That(page.Messages().Any(m => m.GetProperty("event").GetString() == "error" && m.TryGetProperty("guildId", out var g) && g.GetString() == GuildA), Is.True, "FORBIDDEN for guild A");
        });
        await Browser.ScreenshotAsync(page.Page, "nextjs-linus-guild-b");
        page.AssertNoErrors("the server responded with a status of 403"); // the browser's log of the proxy's refusals (guild A)
    }

    [Test]
    public async Task SigningOut_EndsTheSocketsAccess()
    {
        var page = await SignInAsync("ada");
        await OpenGuildAsync(page, GuildA);
        var token = await page.Page.APIRequest.GetAsync(_next.Url("/api/live-token"));
        Assert.That(token.Status, Is.EqualTo(200));
        var minted = (await token.JsonAsync())!.Value.GetProperty("token").GetString()!;
        var header = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(Pad(minted.Split('.')[0])));
        Assert.That(header, Does.Contain("\"typ\":\"liveupdates+jwt\""), "the page gets a connection token, not next-auth's session token");

        var server = _host.Service<WebSocketManager>();
        await Wait.UntilAsync(() => server.ConnectionCount == 1, "only this page's connection open on the server");
        await page.Page.ClickAsync("[data-testid=sign-out]");
        await Expect(page.Page.Locator("[data-testid=sign-in]")).ToBeVisibleAsync();
        await Wait.UntilAsync(() => page.OpenSockets == 0, "the page's WebSocket closed after sign-out", LiveBound);
        await Wait.UntilAsync(() => server.ConnectionCount == 0, "the server's connection of that page gone after sign-out", LiveBound);

        var after = await page.Page.APIRequest.GetAsync(_next.Url("/api/live-token"));
        var data = await page.Page.APIRequest.GetAsync(_next.Url($"/api/guilds/{GuildA}/moderation/rules"));
        Assert.Multiple(() =>
        {
            Assert.That(after.Status, Is.EqualTo((int)HttpStatusCode.Unauthorized), "no session token after sign-out");
            Assert.That(data.Status, Is.EqualTo((int)HttpStatusCode.Unauthorized), "no data after sign-out");
        });

        // A guild page opened now cannot get a token: it never authenticates and shows no live data.
        await page.Page.GotoAsync(_next.Url($"/guilds/{GuildA}"));
        await Expect(page.Page.Locator("input[name=username]")).ToBeVisibleAsync(); // the guild pages send to the sign-in form first
        Assert.That(page.Messages().Count(m => m.GetProperty("event").GetString() == "authenticated"), Is.EqualTo(1), "only the socket from before sign-out was ever authenticated");
        page.AssertNoErrors("the server responded with a status of 401"); // the two requests above, signed out
    }

    [Test]
    public async Task HostRestart_ShowsReconnecting_ThenLive_WithTheChangeMadeWhileItWasDown()
    {
        var page = await SignInAsync("ada");
        await OpenGuildAsync(page, GuildA);
        var rules = _host.Service<ModerationRulesService>();
        var indicator = page.Page.Locator(".live-indicator");

        await _host.StopAsync();
        await Expect(indicator).ToHaveTextAsync("Reconnecting…");
        var name = $"Added while offline {Guid.NewGuid().ToString("N")[..6]}";
        rules.Create(GuildA, new RuleDraft(name, "keyword", "offline", "warn", 1, true), Ada);
        await Browser.ScreenshotAsync(page.Page, "nextjs-restart-reconnecting");

        await _host.RestartAsync(); // same ports, AUTH_SECRET and database; a new epoch
        var watch = Stopwatch.StartNew();
        await Expect(indicator).ToHaveTextAsync("Live", new() { Timeout = 30_000 });
        TestContext.Progress.WriteLine($"Live again {watch.ElapsedMilliseconds} ms after the restart");
        await Expect(RuleRow(page.Page, name)).ToBeVisibleAsync(); // refetched: the new server answered recovered: false
        var resubscribed = page.Messages().Where(m => m.GetProperty("event").GetString() == "subscribed").Last().GetProperty("data");
        Assert.That(resubscribed.GetProperty("recovered").GetBoolean(), Is.False);

        var live = $"after-restart-{Guid.NewGuid().ToString("N")[..6]}";
        _host.Service<ModerationRulesService>().Create(GuildA, new RuleDraft(live, "keyword", "x", "warn", 1, true), Ada);
        await Expect(RuleRow(page.Page, live)).ToBeVisibleAsync(new() { Timeout = (float)LiveBound.TotalMilliseconds });
        await page.AssertNotReloadedAsync();
        await Browser.ScreenshotAsync(page.Page, "nextjs-restart-live-again");
        // Chromium logs each failed reconnect while the host is down, and a refetch that reaches the dashboard's proxy
        // while the bot's API is still starting is answered 502 (then refetched: the rule shows, asserted above).
        page.AssertNoErrors("WebSocket connection to", "the server responded with a status of 502");
    }

    /// <summary>base64url → base64 with padding, for <see cref="Convert.FromBase64String(string)"/>.</summary>
    private static string Pad(string segment) => segment.Replace('-', '+').Replace('_', '/').PadRight((segment.Length + 3) / 4 * 4, '=');

    private static ILocator RuleRow(IPage page, string name) => page.Locator("[data-testid=rule]", new() { HasText = name });

    /// <summary>Signs in through next-auth's own sign-in form, as a person would.</summary>
    private async Task<NextDashboardPage> SignInAsync(string user)
    {
        var page = new NextDashboardPage(await _browser.Context.NewPageAsync());
        await page.Page.GotoAsync(_next.Url("/"));
        await page.Page.ClickAsync("[data-testid=sign-in]");
        await page.Page.FillAsync("input[name=username]", user);
        await page.Page.FillAsync("input[name=password]", "live");
        await page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("Sign in with") }).ClickAsync();
        await Expect(page.Page.Locator("h1")).ToHaveTextAsync($"Hello, {user}");
        return page;
    }

    private async Task OpenGuildAsync(NextDashboardPage page, string guildId)
    {
        await page.Page.GotoAsync(_next.Url($"/guilds/{guildId}"));
        await Expect(page.Page.Locator(".live-indicator")).ToHaveAttributeAsync("data-status", "live");
        await Expect(page.Page.Locator(".live-indicator")).ToHaveTextAsync("Live");
        await Expect(page.Page.Locator("[data-testid=rule]").First).ToBeVisibleAsync(); // fetched through the proxy
        await page.MarkAsync();
    }
}
