using Microsoft.Playwright;

namespace LiveUpdates.BrowserTests.Infrastructure;

/// <summary>
/// Headless Chromium from Debian's package (never a downloaded browser), driven by Playwright, with a fresh
/// user-data directory per launch. A missing Chromium fails the tests: they must not pass by not running.
/// </summary>
internal sealed class Browser : IAsyncDisposable
{
    /// <summary>Overrides the browser path (default <c>/usr/bin/chromium</c>).</summary>
    public const string ExecutableVariable = "LIVEUPDATES_CHROMIUM";

    private static readonly string[] Arguments =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    ];

    private readonly IPlaywright _playwright;
    private readonly string _userDataDir;

    private Browser(IPlaywright playwright, IBrowserContext context, string userDataDir)
    {
        _playwright = playwright;
        Context = context;
        _userDataDir = userDataDir;
    }

    public IBrowserContext Context { get; }

    public static string ExecutablePath => Environment.GetEnvironmentVariable(ExecutableVariable) is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static async Task<Browser> LaunchAsync()
    {
        var executable = ExecutablePath;
        if (!File.Exists(executable))
        {
            Assert.Fail($"Chromium was not found at {executable}. Install Debian's package (apt-get install -y chromium; tests/run.sh does it) " +
                        $"or set {ExecutableVariable}. The browser tests never download a browser and never skip.");
        }

        var userDataDir = Directory.CreateTempSubdirectory("liveupdates-chromium-").FullName;
        var playwright = await Playwright.CreateAsync();
        try
        {
            var context = await playwright.Chromium.LaunchPersistentContextAsync(userDataDir, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Args = Arguments,
                ViewportSize = new ViewportSize { Width = 1280, Height = 860 },
                Timeout = 60_000,
            });
            context.SetDefaultTimeout(15_000);
            return new Browser(playwright, context, userDataDir);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }

    /// <summary>Saves a screenshot of <paramref name="page"/> under <c>artifacts/browser-tests/</c> and prints its path.</summary>
    public static async Task<string> ScreenshotAsync(IPage page, string name)
    {
        var dir = Path.Combine(RepositoryRoot(), "artifacts", "browser-tests");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        TestContext.Progress.WriteLine($"screenshot: {path}");
        TestContext.AddTestAttachment(path, name);
        return path;
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        _playwright.Dispose();
        try
        {
            Directory.Delete(_userDataDir, recursive: true);
        }
        catch (IOException)
        {
            // Chromium may still be flushing its profile; the temp folder is cleaned by the OS later.
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        return TestContext.CurrentContext.WorkDirectory;
    }
}
