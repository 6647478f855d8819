using System.Diagnostics;
using System.Text;

namespace LiveUpdates.PackageTests;

/// <summary>Runs the <c>dotnet</c> CLI as a child process with a time limit, capturing its output.</summary>
internal static class Dotnet
{
    public static Task<(int ExitCode, string Output, TimeSpan Elapsed)> RunAsync(string workingDirectory, TimeSpan limit, params string[] arguments) =>
        RunAsync(workingDirectory, limit, [], arguments);

    /// <summary>Runs <c>dotnet</c> with <paramref name="unset"/> removed from its environment.</summary>
    public static async Task<(int ExitCode, string Output, TimeSpan Elapsed)> RunAsync(string workingDirectory, TimeSpan limit, IReadOnlyCollection<string> unset, params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The test host may run under MSBuild (dotnet test): its variables would point a child build at the wrong SDK parts.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var name in unset)
        {
            start.Environment.Remove(name);
        }

        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";

        var output = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            lock (output)
            {
                output.AppendLine(System.Globalization.CultureInfo.InvariantCulture, $"(killed: still running after {limit})");
            }

            return (-1, output.ToString(), stopwatch.Elapsed);
        }

        process.WaitForExit(); // drains the redirected output
        lock (output)
        {
            return (process.ExitCode, output.ToString(), stopwatch.Elapsed);
        }
    }
}
