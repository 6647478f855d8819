using System.Diagnostics;
using System.Text.Json;

namespace LiveUpdates.LoadTest;

/// <summary>
/// The orchestrator's handle on a server process (see <see cref="Servers.ServerProcess"/>; the Node.js peer,
/// peers/node-ws/server.mjs, obeys the same commands): one command line in, one JSON line out.
/// </summary>
internal sealed class ServerChild : IAsyncDisposable
{
    private readonly Process _process;

    private ServerChild(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>Starts server <paramref name="impl"/>; <paramref name="connections"/> is how many clients the run will hold at once.</summary>
    public static async Task<(ServerChild Child, JsonElement Ready)> StartAsync(string impl, int port, string secret, int connections)
    {
        var portText = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        ProcessStartInfo info;
        if (impl == "node-ws")
        {
            var peer = await NodePeerAsync();
            info = new ProcessStartInfo("node") { WorkingDirectory = peer };

            // LOADTEST_NODE_ARGS: extra node options for a look inside, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof".
            var extra = (Environment.GetEnvironmentVariable("LOADTEST_NODE_ARGS") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            foreach (var arg in extra.Concat(["--expose-gc", Path.Combine(peer, "server.mjs"), "--port", portText, "--secret", secret]))
            {
                info.ArgumentList.Add(arg);
            }
        }
        else
        {
            var self = typeof(ServerChild).Assembly.Location;
            var host = Environment.ProcessPath!;
            info = new ProcessStartInfo(host);
            if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                info.ArgumentList.Add(self);
            }

            foreach (var arg in new[] { "server", "--impl", impl, "--port", portText, "--secret", secret, "--connections", connections.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(arg);
            }
        }

        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        info.UseShellExecute = false;
        info.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"); // servers run with the runtime's defaults

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the server process");
        var child = new ServerChild(process);
        var ready = await child.ReadAsync(TimeSpan.FromSeconds(60));
        return (child, ready);
    }

    /// <summary>
    /// The Node.js peer's folder (tests/LiveUpdates.LoadTest/peers/node-ws, found from the build output upwards), its
    /// locked packages installed with <c>npm ci</c> the first time (it is outside the root npm workspace, so nothing
    /// else installs it; at most two minutes).
    /// </summary>
    private static async Task<string> NodePeerAsync()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "peers", "node-ws", "server.mjs")))
        {
            dir = dir.Parent;
        }

        var peer = dir is null ? throw new DirectoryNotFoundException("peers/node-ws not found above " + AppContext.BaseDirectory) : Path.Combine(dir.FullName, "peers", "node-ws");
        if (!Directory.Exists(Path.Combine(peer, "node_modules", "ws")))
        {
            Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] npm ci in {peer}");
            var npm = new ProcessStartInfo("npm") { WorkingDirectory = peer, UseShellExecute = false };
            foreach (var arg in new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" })
            {
                npm.ArgumentList.Add(arg);
            }

            using var process = Process.Start(npm) ?? throw new InvalidOperationException("could not start npm");
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"npm ci in {peer} took more than two minutes");
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci failed in {peer} (exit code {process.ExitCode})");
            }
        }

        return peer;
    }

    public async Task<JsonElement> SendAsync(string command, TimeSpan? timeout = null)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        return await ReadAsync(timeout ?? TimeSpan.FromMinutes(2));
    }

    private async Task<JsonElement> ReadAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var line = await _process.StandardOutput.ReadLineAsync(cts.Token)
            ?? throw new InvalidOperationException($"the server process ended (exit code {(_process.HasExited ? _process.ExitCode : -1)})");
        return JsonDocument.Parse(line).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await SendAsync("quit", TimeSpan.FromSeconds(20));
                await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
        }
        finally
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }
    }
}
