using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// A real <c>redis-server</c> on a free loopback port, in a directory of its own, for one test or one fixture. It can
/// be killed (SIGKILL), restarted on the same port (with its data when persistence is on), paused (SIGSTOP) and resumed.
/// A machine without <c>redis-server</c> fails the test: tests/run.sh installs it, CI never skips these tests.
/// </summary>
internal sealed class RedisServer : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("liveupdates-redis-").FullName;
    private readonly bool _persistent;
    private readonly string[] _extra;
    private Process? _process;

    private RedisServer(bool persistent, string[] extra)
    {
        _persistent = persistent;
        _extra = extra;
        Port = Ports.GetFree();
    }

    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string of the server.</summary>
    public string Configuration => $"127.0.0.1:{Port}";

    /// <summary>Starts a server; with <paramref name="persistent"/> every write is appended to an AOF file (fsync always), so a restart keeps the data.</summary>
    /// <param name="persistent">Whether every write is appended to an AOF file.</param>
    /// <param name="extra">More redis-server arguments (e.g. <c>--replicaof 127.0.0.1 6379</c>), on every start.</param>
    public static async Task<RedisServer> StartAsync(bool persistent = false, params string[] extra)
    {
        var server = new RedisServer(persistent, extra);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Kills the server at once (SIGKILL): no shutdown, no save.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>Starts the server again on the same port (after <see cref="KillAsync"/>).</summary>
    public Task RestartAsync() => StartProcessAsync();

    public void Pause() => Signal("STOP");

    public void Resume() => Signal("CONT");

    /// <summary>Runs one command through a plain RESP connection (no client library), returning the raw reply.</summary>
    public async Task<string> CommandAsync(params string[] args)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", Port);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(args.Length).Append("\r\n");
        foreach (var arg in args)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(arg)).Append("\r\n").Append(arg).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        var buffer = new byte[64 * 1024];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.UTF8.GetString(buffer, 0, read);
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
                Resume();
                process.Kill();
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static string FindServer()
    {
        foreach (var candidate in new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Fail("redis-server is not installed: the Redis tests need a real server (tests/run.sh installs Debian's redis-server; or `apt-get install redis-server`).");
        return string.Empty;
    }

    private async Task StartProcessAsync()
    {
        var args = new List<string>
        {
            "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--dir", _directory,
            "--save", string.Empty, "--daemonize", "no", "--logfile", Path.Combine(_directory, "redis.log"),
        };
        if (_persistent)
        {
            args.AddRange(["--appendonly", "yes", "--appendfsync", "always"]);
        }
        else
        {
            args.AddRange(["--appendonly", "no"]); // a dump.rdb written by SAVE is loaded on restart: a snapshot
        }

        args.AddRange(_extra);

        var start = new ProcessStartInfo(FindServer()) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        _process?.Dispose();
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            try
            {
                if ((await CommandAsync("PING")) is var pong && (pong.StartsWith("+PONG", StringComparison.Ordinal) || pong.StartsWith("-NOAUTH", StringComparison.Ordinal)))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
            }

            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                var log = Path.Combine(_directory, "redis.log");
                Assert.Fail($"redis-server did not start on port {Port}: {(File.Exists(log) ? File.ReadAllText(log) : "no log")}");
            }

            await Task.Delay(20);
        }
    }

    private void Signal(string signal)
    {
        if (_process is { HasExited: false } process)
        {
            using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            kill.WaitForExit();
        }
    }
}
