using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// A real Redis Sentinel (Debian's <c>redis-server --sentinel</c>) on a free loopback port, monitoring one primary under
/// <see cref="ServiceName"/>. A machine where it cannot start fails the test: the Sentinel tests never skip.
/// </summary>
internal sealed class SentinelServer : IAsyncDisposable
{
    public const string ServiceName = "liveupdates-primary";

    private readonly string _directory = Directory.CreateTempSubdirectory("liveupdates-sentinel-").FullName;
    private Process? _process;

    private SentinelServer() => Port = Ports.GetFree();

    public int Port { get; }

    /// <summary>Starts a sentinel that monitors the primary at 127.0.0.1:<paramref name="primaryPort"/> and waits until it answers for it.</summary>
    public static async Task<SentinelServer> StartAsync(int primaryPort)
    {
        var sentinel = new SentinelServer();
        await sentinel.StartProcessAsync(primaryPort);
        return sentinel;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { } process)
        {
            if (!process.HasExited)
            {
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

    private async Task StartProcessAsync(int primaryPort)
    {
        var config = Path.Combine(_directory, "sentinel.conf");
        var log = Path.Combine(_directory, "sentinel.log");
        await File.WriteAllTextAsync(config, string.Join('\n',
            $"port {Port.ToString(CultureInfo.InvariantCulture)}",
            "bind 127.0.0.1",
            $"dir {_directory}",
            $"logfile {log}",
            $"sentinel monitor {ServiceName} 127.0.0.1 {primaryPort.ToString(CultureInfo.InvariantCulture)} 1",
            $"sentinel down-after-milliseconds {ServiceName} 5000",
            string.Empty));

        var server = new[] { "/usr/bin/redis-server", "/usr/local/bin/redis-server" }.FirstOrDefault(File.Exists);
        if (server is null)
        {
            Assert.Fail("redis-server is not installed: the Sentinel tests need a real one (`redis-server --sentinel`; Debian's redis-server package).");
        }

        var start = new ProcessStartInfo(server!) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(config);
        start.ArgumentList.Add("--sentinel");
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
                if ((await CommandAsync("SENTINEL", "get-master-addr-by-name", ServiceName)).Contains(primaryPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal))
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
            }

            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"redis-server --sentinel did not start on port {Port} (it must: the Sentinel tests do not skip): {(File.Exists(log) ? File.ReadAllText(log) : "no log")}");
            }

            await Task.Delay(20);
        }
    }

    private async Task<string> CommandAsync(params string[] args)
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
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        return Encoding.UTF8.GetString(buffer, 0, read);
    }
}
