using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LiveUpdates.BrowserTests.Infrastructure;
using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace LiveUpdates.BrowserTests;

/// <summary>
/// Issue 22, "try it as a newcomer would", to the end: a fresh Next.js app made from the Next.js guide (docs/dashboard.md) alone with the
/// client as <c>npm pack</c> makes it (<c>clients/js/testing/newcomer-app.mjs</c>: pack, install, <c>tsc</c>,
/// <c>next build</c>), started with <c>next start</c> against the sample host, and opened in Debian's Chromium with a
/// next-auth session cookie (the guide has no sign-in page: the app's existing sign-in is assumed, so the cookie is
/// made with next-auth's own <c>encode</c> and the shared secret). The guide's page shows the guild's rules, and a
/// rule the bot creates appears without a reload, with no console error, page error or hydration warning.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NewcomerAppTests
{
    private const string Guild = SampleHostApp.DevGuildId;
    private const string Ada = "100000000000000001";

    private string _dir = null!;
    private string _app = null!;
    private RunningSampleHost _host = null!;
    private Process? _next;
    private readonly StringBuilder _output = new();
    private int _port;
    private Browser _browser = null!;

    [OneTimeSetUp]
    public async Task BuildAndStart()
    {
        SetDefaultExpectTimeout(10_000);
        var root = RunningNextApp.RepositoryRoot();
        _dir = Directory.CreateTempSubdirectory("liveupdates-newcomer-").FullName;
        var watch = Stopwatch.StartNew();
        var made = await NodeAsync(root, TimeSpan.FromMinutes(5), Path.Combine(root, "clients", "js", "testing", "newcomer-app.mjs"), _dir);
        _app = JsonDocument.Parse(made.Trim().Split('\n')[^1]).RootElement.GetProperty("app").GetString()!;
        TestContext.Progress.WriteLine($"newcomer app packed, installed, type-checked and built in {watch.Elapsed.TotalSeconds:0.0} s");

        _port = Ports.GetFree();
        var origin = $"http://127.0.0.1:{_port}";
        _host = await RunningSampleHost.StartAsync(null, $"--LiveUpdates:AllowedOrigins:0={origin}");
        var start = new ProcessStartInfo("node", $"\"{Path.Combine(_app, "node_modules", "next", "dist", "bin", "next")}\" start --port {_port} --hostname 127.0.0.1")
        {
            WorkingDirectory = _app,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["NEXT_TELEMETRY_DISABLED"] = "1";
        start.Environment["NODE_ENV"] = "production";
        start.Environment["AUTH_SECRET"] = RunningSampleHost.Secret;
        start.Environment["LIVEUPDATES_TOKEN_KEY"] = RunningSampleHost.TokenKey;
        start.Environment["NEXTAUTH_URL"] = origin;
        start.Environment["BOT_API_URL"] = $"http://127.0.0.1:{_host.ApiPort}"; // the names the guide's files read
        start.Environment["LIVEUPDATES_WS_URL"] = $"ws://127.0.0.1:{_host.WsPort}";
        _next = Process.Start(start)!;
        _next.OutputDataReceived += Append;
        _next.ErrorDataReceived += Append;
        _next.BeginOutputReadLine();
        _next.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var ready = false;
        await Wait.UntilAsync(
            () =>
            {
                if (_next.HasExited)
                {
                    return true;
                }

                try
                {
                    ready = http.GetAsync($"{origin}/").GetAwaiter().GetResult().IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }

                return ready;
            },
            "next start answering /",
            TimeSpan.FromSeconds(60));
        Assert.That(ready, Is.True, $"next start exited:\n{Output}");
        _browser = await Browser.LaunchAsync();
    }

    [OneTimeTearDown]
    public async Task StopEverything()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        if (_next is { HasExited: false })
        {
            _next.Kill(entireProcessTree: true);
            await _next.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _next?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_dir is not null)
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    private string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    [Test]
    public async Task TheGuidesPage_ShowsTheGuildsRules_AndARuleTheBotCreates_WithoutReload()
    {
        var known = $"newcomer-known-{Guid.NewGuid().ToString("N")[..6]}";
        _host.Service<ModerationRulesService>().Create(Guild, new RuleDraft(known, "keyword", "x", "warn", 1, true), Ada);

        // next-auth's session cookie, as the app's sign-in would set it: next-auth's encode, the shared secret, the
        // claims the sample's jwt callback puts in (the Discord id in sub, the guilds the user may open).
        var claims = JsonSerializer.Serialize(new { sub = Ada, discordId = Ada, name = "ada", guilds = new[] { Guild } });
        var script = "import { encode } from 'next-auth/jwt';" +
                     $"process.stdout.write(await encode({{ token: {claims}, secret: process.env.AUTH_SECRET, maxAge: 3600 }}));";
        var token = (await NodeAsync(_app, TimeSpan.FromSeconds(30), "--input-type=module", "-e", script)).Trim();
        await _browser.Context.AddCookiesAsync([new Cookie { Name = "next-auth.session-token", Value = token, Url = $"http://127.0.0.1:{_port}" }]);

        var page = new NextDashboardPage(await _browser.Context.NewPageAsync());
        try
        {
            await page.Page.GotoAsync($"http://127.0.0.1:{_port}/guilds/{Guild}");
            await Expect(page.Page.Locator("li", new() { HasText = known })).ToBeVisibleAsync(); // fetched through the guide's proxy
            await Expect(page.Page.Locator(".live-indicator")).ToHaveAttributeAsync("data-status", "live");
            await page.MarkAsync();

            var created = $"newcomer-live-{Guid.NewGuid().ToString("N")[..6]}";
            _host.Service<ModerationRulesService>().Create(Guild, new RuleDraft(created, "keyword", "x", "warn", 1, true), Ada);
            await Expect(page.Page.Locator("li", new() { HasText = created })).ToBeVisibleAsync(new() { Timeout = 5_000 });
            await page.AssertNotReloadedAsync();
            Assert.That(page.Messages().Any(m => m.GetProperty("event").GetString() == "moderation:rule_created"), Is.True, "the rule came as an event");
            Assert.That(page.Sockets, Is.EqualTo(1));
            page.AssertNoErrors("favicon.ico"); // a fresh app without create-next-app's icon: the browser's 404 for it is expected
        }
        catch
        {
            TestContext.Out.WriteLine("next start output:\n" + Output);
            throw;
        }
    }

    private void Append(object? sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(e.Data);
        }
    }

    /// <summary>Runs node with <paramref name="arguments"/>; its standard output, or a failure with everything it printed.</summary>
    private static async Task<string> NodeAsync(string cwd, TimeSpan timeout, params string[] arguments)
    {
        var info = new ProcessStartInfo("node") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in arguments)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["AUTH_SECRET"] = RunningSampleHost.Secret;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"node {string.Join(' ', arguments)} took more than {timeout.TotalSeconds} s");
        }

        var output = await stdout;
        if (process.ExitCode != 0)
        {
            Assert.Fail($"node {string.Join(' ', arguments)} failed ({process.ExitCode}):\n{output}\n{await stderr}");
        }

        return output;
    }
}
