using System.Diagnostics;
using LiveUpdates.BrowserTests.Infrastructure;
using LiveUpdates.SampleHost;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LiveUpdates.BrowserTests;

/// <summary>
/// <c>samples/nextjs-dashboard</c> under <c>next dev</c>, as a developer first runs it: React's development build
/// reports every hydration mismatch ("Hydration failed …") that the production build only reports as error #418
/// (which <see cref="NextJsDashboardTests"/> also catch). Every guild page is opened by a full load (server render,
/// then hydration) and must log no console error, page error or hydration warning. One test: <c>next dev</c> compiles
/// each route on its first request (tens of seconds on 2 cores), so the routes are visited once.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NextJsDevServerTests
{
    private const string GuildA = SampleHostApp.DevGuildId;

    /// <summary>next dev compiles a route on its first request: a generous bound for a loaded 2-core machine.</summary>
    private const float CompileBound = 90_000;

    private Browser _browser = null!;
    private RunningSampleHost _host = null!;
    private RunningNextApp _next = null!;

    [OneTimeSetUp]
    public async Task StartEverything()
    {
        SetDefaultExpectTimeout(CompileBound);
        var port = RunningNextApp.ChoosePort();
        _host = await RunningSampleHost.StartAsync(null, $"--LiveUpdates:AllowedOrigins:0={RunningNextApp.Origin(port)}");
        _next = await RunningNextApp.StartAsync(_host, port, development: true);
        _browser = await Browser.LaunchAsync();
        _browser.Context.SetDefaultTimeout(CompileBound);
        _browser.Context.SetDefaultNavigationTimeout(CompileBound);
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
    public void PrintOutputOnFailure()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed && _next is not null)
        {
            TestContext.Out.WriteLine("next dev output:\n" + _next.Output);
        }
    }

    [Test]
    public async Task EveryGuildPage_LoadedFresh_HydratesWithoutAnyConsoleError()
    {
        var watch = Stopwatch.StartNew();
        var page = new NextDashboardPage(await _browser.Context.NewPageAsync());
        await page.Page.GotoAsync(_next.Url("/"));
        await page.Page.ClickAsync("[data-testid=sign-in]");
        await page.Page.FillAsync("input[name=username]", "ada");
        await page.Page.FillAsync("input[name=password]", "live");
        await page.Page.GetByRole(AriaRole.Button, new() { NameRegex = new System.Text.RegularExpressions.Regex("Sign in with") }).ClickAsync();
        await Expect(page.Page.Locator("h1")).ToHaveTextAsync("Hello, ada");

        // Each a full page load: the server renders it, then the browser hydrates it (where a mismatch shows).
        foreach (var (path, ready) in new[]
                 {
                     ($"/guilds/{GuildA}", "[data-testid=rule]"),
                     ($"/guilds/{GuildA}/infractions", "[data-testid=infractions]"),
                     ($"/guilds/{GuildA}/modmail", "[data-testid=modmail]"),
                 })
        {
            await page.Page.GotoAsync(_next.Url(path));
            await Expect(page.Page.Locator(".live-indicator")).ToHaveAttributeAsync("data-status", "live");
            await Expect(page.Page.Locator(ready).First).ToBeVisibleAsync();
            page.AssertNoErrors(); // hydration is over once the page is live
            await Expect(page.Page.Locator(".guild").GetByText("Loading…")).ToHaveCountAsync(0); // fetched and rendered after hydration
            TestContext.Progress.WriteLine($"{path} live under next dev after {watch.ElapsedMilliseconds} ms");
        }

        page.AssertNoErrors();
    }
}
