using System.Diagnostics;
using System.Text;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.BrowserTests.Infrastructure;

/// <summary>
/// <c>samples/nextjs-dashboard</c> as a user runs it: a production build (<c>next build</c>, made here when missing or
/// older than its sources or the client package) served by <c>next start</c> on a free loopback port, pointed at a
/// running sample host and sharing its connection-token key; or, with <c>development: true</c>, <c>next dev</c> (no build;
/// each route compiles on its first request, into <c>.next/dev</c>, beside the production build). Needs Node.js and the workspace's packages (<c>npm ci</c> and
/// <c>npm run build</c> at the repository root; tests/run.sh does both): without them the tests fail, they never skip.
/// </summary>
internal sealed class RunningNextApp : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output;

    private RunningNextApp(Process process, StringBuilder output, int port)
    {
        _process = process;
        _output = output;
        Port = port;
    }

    public int Port { get; }

    public string Url(string path = "/") => Origin(Port) + path;

    /// <summary>What the app printed (for failure messages).</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static string AppDirectory => Path.Combine(RepositoryRoot(), "samples", "nextjs-dashboard");

    /// <summary>A free port for the app, chosen before the host starts so that the host can allow its origin.</summary>
    public static int ChoosePort() => Ports.GetFree();

    /// <summary>The app's origin, which the sample host must list in <c>LiveUpdates:AllowedOrigins</c>.</summary>
    public static string Origin(int port) => $"http://127.0.0.1:{port}";

    public static async Task<RunningNextApp> StartAsync(RunningSampleHost host, int port, bool development = false)
    {
        var root = RepositoryRoot();
        var next = Path.Combine(root, "node_modules", "next", "dist", "bin", "next");
        var client = Path.Combine(root, "clients", "js", "dist", "index.js");
        if (!File.Exists(next) || !File.Exists(client))
        {
            Assert.Fail($"The Next.js dashboard's packages are missing ({(File.Exists(next) ? client : next)}). Run `npm ci && npm run build` " +
                        "at the repository root (tests/run.sh does). These tests never skip.");
        }

        if (!development)
        {
            await EnsureBuiltAsync(next);
        }
        else
        {
            // A fresh dev build: Turbopack's cache from an earlier run against another build of the client package was
            // seen to recompile and reload the page in a loop.
            var devDir = Path.Combine(AppDirectory, ".next", "dev");
            if (Directory.Exists(devDir))
            {
                Directory.Delete(devDir, recursive: true);
            }
        }

        var output = new StringBuilder();
        var start = NodeProcess(next, $"{(development ? "dev" : "start")} --port {port} --hostname 127.0.0.1", development);
        var readyWithin = TimeSpan.FromSeconds(development ? 120 : 60); // next dev compiles the first route asked for
        start.Environment["AUTH_SECRET"] = RunningSampleHost.Secret;
        start.Environment["LIVEUPDATES_TOKEN_KEY"] = RunningSampleHost.TokenKey;
        start.Environment["NEXTAUTH_URL"] = Origin(port);
        start.Environment["LIVEUPDATES_API_URL"] = $"http://127.0.0.1:{host.ApiPort}";
        start.Environment["LIVEUPDATES_WS_URL"] = host.WsUrl; // ws://…:3002 or, one port, ws://…:3001/live
        var process = Launch(start, output);
        var app = new RunningNextApp(process, output, port);
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(development ? 60 : 5) };
            var watch = Stopwatch.StartNew();
            while (true)
            {
                if (process.HasExited)
                {
                    Assert.Fail($"next start exited with {process.ExitCode}:\n{app.Output}");
                }

                try
                {
                    using var response = await http.GetAsync(app.Url("/api/auth/csrf"));
                    if (response.IsSuccessStatusCode)
                    {
                        break;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
                catch (TaskCanceledException)
                {
                    // slow first answer
                }

                if (watch.Elapsed > readyWithin)
                {
                    Assert.Fail($"next {(development ? "dev" : "start")} did not answer within {readyWithin.TotalSeconds} s:\n{app.Output}");
                }

                await Task.Delay(100);
            }

            TestContext.Progress.WriteLine($"Next.js dashboard on {app.Url()} after {watch.ElapsedMilliseconds} ms");
            return app;
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    /// <summary>Runs <c>next build</c> unless the last build is newer than every source of the app and the client package.</summary>
    private static async Task EnsureBuiltAsync(string next)
    {
        var app = AppDirectory;
        var buildId = Path.Combine(app, ".next", "BUILD_ID");
        var sources = new[] { Path.Combine(app, "app"), Path.Combine(app, "lib"), Path.Combine(RepositoryRoot(), "clients", "js", "dist") }
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Concat([Path.Combine(app, "next.config.mjs"), Path.Combine(app, "package.json"), Path.Combine(RepositoryRoot(), "package-lock.json")]);
        var newest = sources.Max(File.GetLastWriteTimeUtc);
        if (File.Exists(buildId) && File.GetLastWriteTimeUtc(buildId) >= newest)
        {
            return;
        }

        var output = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var build = Launch(NodeProcess(next, "build"), output);
        try
        {
            await build.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(4));
        }
        catch (TimeoutException)
        {
            build.Kill(entireProcessTree: true);
            Assert.Fail($"next build took more than 4 minutes:\n{output}");
        }

        if (build.ExitCode != 0)
        {
            Assert.Fail($"next build failed ({build.ExitCode}):\n{output}");
        }

        TestContext.Progress.WriteLine($"next build: {watch.Elapsed.TotalSeconds:0.0} s");
    }

    private static ProcessStartInfo NodeProcess(string next, string arguments, bool development = false)
    {
        var node = Environment.GetEnvironmentVariable("LIVEUPDATES_NODE") is { Length: > 0 } n ? n : "node";
        var info = new ProcessStartInfo(node, $"\"{next}\" {arguments}")
        {
            WorkingDirectory = AppDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment["NEXT_TELEMETRY_DISABLED"] = "1";
        info.Environment["NODE_ENV"] = development ? "development" : "production";
        return info;
    }

    private static Process Launch(ProcessStartInfo info, StringBuilder output)
    {
        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException("no process");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            Assert.Fail($"Node.js could not be started ({info.FileName}: {ex.Message}). Install it (tests/run.sh does) or set LIVEUPDATES_NODE.");
            throw;
        }

        void Append(object? sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(e.Data);
            }
        }

        process.OutputDataReceived += Append;
        process.ErrorDataReceived += Append;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (LiveUpdates.sln) was not found above " + AppContext.BaseDirectory);
    }
}
