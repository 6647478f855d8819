using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.Benchmarks;

/// <summary>
/// <c>Broadcast()</c> cost to the caller with 1 to 10,000 real subscribers. The subscribers are WebSocket clients in a
/// child process (tests/LiveUpdates.LoadTest's <c>clients</c> mode) reading over loopback, so the dispatcher and the
/// writers really fan out on the other core while the caller is measured.
/// </summary>
/// <remarks>
/// Honest pacing: a tight loop would fill the dispatch queue and measure cheap drops. Each iteration is 256 calls
/// (one back-to-back burst, far below <see cref="LiveUpdatesOptions.DispatchQueueCapacity"/> and the per-client queue
/// bound), and the iteration cleanup waits until every broadcast has been fanned out and every client's queue is
/// empty, so no iteration starts with a backlog and nothing is ever dropped (checked).
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 3, iterationCount: 15, invocationCount: 256)]
public class BroadcastBenchmarks
{
    private const string Secret = "benchmark-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    private const string GuildId = "100000000000000001";
    private readonly object _data = new EnvelopeBenchmarks.Tick(123456789012, 42, new string('x', 64));
    private WebSocketManager _server = null!;
    private Process _subscribers = null!;

    [Params(1, 100, 1_000, 10_000)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var port = FreePort();
        _server = new WebSocketManager(new LiveUpdatesOptions
        {
            Host = "127.0.0.1",
            Port = port,
            AuthSecret = Secret,
            IdleTimeout = Timeout.InfiniteTimeSpan,
            MaxConnections = 20_000,
            MaxConnectionsPerAddress = 20_000,
            MaxConnectionsPerUser = 20_000,
        });
        _server.StartAsync().GetAwaiter().GetResult();

        var token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Claims = new Dictionary<string, object> { ["sub"] = "1", ["guilds"] = new[] { GuildId } },
            Expires = DateTime.UtcNow.AddHours(2),
            SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
        });
        var info = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { LoadToolPath(), "clients", "--uri", $"ws://127.0.0.1:{port}/", "--token", token, "--guild", GuildId, "--count", Subscribers.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        _subscribers = Process.Start(info)!;
        if (_subscribers.StandardOutput.ReadLine() != "ready")
        {
            throw new InvalidOperationException("the subscriber process did not start");
        }

        var deadline = DateTime.UtcNow.AddMinutes(2);
        while (_server.Connections.Sum(c => c.SubscriptionCount) < Subscribers && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(10);
        }
    }

    [Benchmark]
    public void Broadcast() => _server.Broadcast(GuildId, "bench:tick", _data);

    [IterationCleanup]
    public void WaitUntilDelivered()
    {
        _server.FlushAsync().GetAwaiter().GetResult();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (_server.Connections.Any(c => c.QueuedMessages > 0) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var dispatched = _server.InMemoryBroker!.Published;
        _subscribers.StandardInput.Close();
        _subscribers.WaitForExit(30_000);
        _server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Console.WriteLine($"// {dispatched} broadcasts fanned out (none dropped if it equals the number of calls)");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>The load tool's DLL, found from the repository root (BenchmarkDotNet runs this from a generated folder under bin/).</summary>
    private static string LoadToolPath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                var dll = Path.Combine(dir.FullName, "tests", "LiveUpdates.LoadTest", "bin", "Release", "net10.0", "LiveUpdates.LoadTest.dll");
                return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the load tool first: dotnet build -c Release tests/LiveUpdates.LoadTest", dll);
            }
        }

        throw new DirectoryNotFoundException("LiveUpdates.sln not found above " + AppContext.BaseDirectory);
    }
}
