using System.Diagnostics;
using System.Text.Json;

namespace LiveUpdates.LoadTest;

/// <summary>The orchestrator's handle on a server process (see <see cref="Servers.ServerProcess"/>): one command line in, one JSON line out.</summary>
internal sealed class ServerChild : IAsyncDisposable
{
    private readonly Process _process;

    private ServerChild(Process process) => _process = process;

    public int Pid => _process.Id;

    public static async Task<(ServerChild Child, JsonElement Ready)> StartAsync(string impl, int port, string secret)
    {
        var self = typeof(ServerChild).Assembly.Location;
        var host = Environment.ProcessPath!;
        var info = new ProcessStartInfo(host)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        info.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"); // servers run with the runtime's defaults
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            info.ArgumentList.Add(self);
        }

        foreach (var arg in new[] { "server", "--impl", impl, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--secret", secret })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the server process");
        var child = new ServerChild(process);
        var ready = await child.ReadAsync(TimeSpan.FromSeconds(60));
        return (child, ready);
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
