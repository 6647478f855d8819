using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace LiveUpdates.LoadTest.Attacks;

/// <summary>
/// <c>attack</c>: the hostile and unlucky clients of issue 10 against a server with the default options (its own
/// process, <see cref="AttackServer"/>), all over loopback. While each attack runs, it measures what a dashboard sees:
/// the time to open and authenticate a new socket, and the latency of an event to an already subscribed one.
/// Scenarios: <c>baseline</c> (no attack), <c>trickle</c> (a refused request announcing a 1,000,000-byte body and
/// sending one byte every 500 ms), <c>silent</c> (five such requests that send none, before each round),
/// <c>auth-flood</c> (40 sockets sending ~30 KB garbage tokens back to back and 10 re-sending a valid token that lists
/// 1,000 guilds, reconnecting when closed, all from 127.0.0.2) and <c>burst</c> (1,000 subscribed clients in one guild,
/// 2,000 events of ~200 B broadcast as fast as possible: clients closed, deliveries complete or not, time).
/// </summary>
internal static class AttackTool
{
    private const string Secret = "attack-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    private const string WatchGuild = "222222222222222222";
    private const string BurstGuild = "333333333333333333";
    private static readonly IPAddress AttackerAddress = IPAddress.Parse("127.0.0.2");

    /// <summary>How long a round waits for an open + auth, or for its event, before it counts as hung.</summary>
    private static readonly TimeSpan GiveUpAfter = TimeSpan.FromSeconds(10);

    public static async Task<int> RunAsync(string scenarios, int port, int rounds, int burstClients, int burstEvents)
    {
        await using var server = await Child.StartAsync(port);
        var uri = new Uri($"ws://127.0.0.1:{port}/");
        await using var watcher = await Dashboard.OpenAsync(uri, Token("watcher", [WatchGuild]), IPAddress.Loopback);
        await watcher.SubscribeAsync(WatchGuild);
        using var stopPinging = new CancellationTokenSource();
        var pinging = watcher.PingAsync(TimeSpan.FromSeconds(15), stopPinging.Token); // as a dashboard does, within IdleTimeout
        var results = new List<string>();
        foreach (var scenario in scenarios.Split(','))
        {
            Log($"scenario {scenario}");
            results.Add(scenario switch
            {
                "baseline" => await MeasureAsync(scenario, server, uri, watcher, rounds, beforeRound: null),
                "trickle" => await TrickleAsync(server, uri, watcher, port, rounds),
                "silent" => await MeasureAsync(scenario, server, uri, watcher, rounds, beforeRound: () => SilentRequestsAsync(port, 5)),
                "auth-flood" => await AuthFloodAsync(server, uri, watcher, rounds),
                "burst" => await BurstAsync(server, uri, burstClients, burstEvents),
                _ => throw new ArgumentException($"unknown scenario '{scenario}'"),
            });
        }

        await stopPinging.CancelAsync();
        await pinging;
        Console.WriteLine();
        foreach (var line in results)
        {
            Console.WriteLine(line);
        }

        return 0;
    }

    private static async Task<string> TrickleAsync(Child server, Uri uri, Dashboard watcher, int port, int rounds)
    {
        using var stop = new CancellationTokenSource();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1000000\r\n\r\n"));
        var trickle = Task.Run(async () =>
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await stream.WriteAsync("x"u8.ToArray(), stop.Token);
                    await Task.Delay(500, stop.Token);
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException)
            {
                // Stopped, or the server closed the refused connection.
            }
        });
        var head = await ReadHeadAsync(stream, TimeSpan.FromSeconds(10));
        Log($"trickling request answered: {head.Split("\r\n")[0]}");
        var result = await MeasureAsync("trickle", server, uri, watcher, rounds, beforeRound: null);
        await stop.CancelAsync();
        await trickle;
        return result;
    }

    private static async Task SilentRequestsAsync(int port, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, port);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes($"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 1000000\r\n\r\n"));
            _ = Task.Delay(TimeSpan.FromSeconds(30)).ContinueWith(_ => tcp.Dispose(), TaskScheduler.Default); // held open, body never sent
        }

        await Task.Delay(100); // the server has the requests before the dashboard's upgrade
    }

    private static async Task<string> AuthFloodAsync(Child server, Uri uri, Dashboard watcher, int rounds)
    {
        using var stop = new CancellationTokenSource();
        var valid = Token("flooder", Enumerable.Range(0, 1000).Select(i => (100_000_000_000_000_000L + i).ToString(CultureInfo.InvariantCulture)).ToArray());
        var answers = new long[1];
        var connections = new long[1];
        var attackers = Enumerable.Range(0, 40).Select(i => Task.Run(() => FloodAsync(uri, Garbage(30_000, i % 3), answers, connections, stop.Token)))
            .Concat(Enumerable.Range(0, 10).Select(_ => Task.Run(() => FloodAsync(uri, valid, answers, connections, stop.Token))))
            .ToList();
        await Task.Delay(2000);
        var cpu0 = (await server.SendAsync("stats")).GetProperty("cpuMs").GetDouble();
        var watch = Stopwatch.StartNew();
        var result = await MeasureAsync("auth-flood", server, uri, watcher, rounds, beforeRound: null);
        var stats = await server.SendAsync("stats");
        var cores = (stats.GetProperty("cpuMs").GetDouble() - cpu0) / watch.Elapsed.TotalMilliseconds;
        await stop.CancelAsync();
        await Task.WhenAll(attackers);
        return $"{result}; flood: {Interlocked.Read(ref answers[0])} answers over {Interlocked.Read(ref connections[0])} connections, server {cores:0.00} cores, {stats.GetProperty("threads").GetInt32()} pool threads";
    }

    private static async Task FloodAsync(Uri uri, string token, long[] answers, long[] connections, CancellationToken stop)
    {
        var auth = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { type = "auth", token }));
        var buffer = new byte[64 * 1024];
        using var invoker = Dashboard.From(AttackerAddress);
        while (!stop.IsCancellationRequested)
        {
            using var socket = new ClientWebSocket();
            try
            {
                await socket.ConnectAsync(uri, invoker, stop);
                Interlocked.Increment(ref connections[0]);
                var reading = Task.Run(async () =>
                {
                    while ((await socket.ReceiveAsync(buffer, stop)).MessageType != WebSocketMessageType.Close)
                    {
                        Interlocked.Increment(ref answers[0]);
                    }
                }, stop);
                while (!reading.IsCompleted && socket.State == WebSocketState.Open)
                {
                    await socket.SendAsync(auth, WebSocketMessageType.Text, endOfMessage: true, stop);
                }

                await reading;
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
                // Closed by the server, refused (429 over MaxConnectionsPerAddress), or stopped: reconnect.
            }
        }
    }

    private static async Task<string> BurstAsync(Child server, Uri uri, int clients, int events)
    {
        // Defaults: 1,000 clients would exceed MaxConnectionsPerAddress (100) from one address, so they come from 20.
        var dashboards = new Dashboard[clients];
        var invokers = Enumerable.Range(1, 20).Select(i => Dashboard.From(IPAddress.Parse($"127.0.1.{i}"))).ToArray();
        for (var i = 0; i < clients; i++)
        {
            dashboards[i] = await Dashboard.OpenAsync(uri, Token($"burst{i}", [BurstGuild]), invokers[i % invokers.Length]);
            await dashboards[i].SubscribeAsync(BurstGuild);
        }

        var watch = Stopwatch.StartNew();
        await server.SendAsync($"bcast {BurstGuild} {events} 150");
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(120) && !dashboards.All(d => d.Ticks >= events || d.Closed))
        {
            await Task.Delay(50);
        }

        var elapsed = watch.Elapsed.TotalSeconds;
        var closed = dashboards.Count(d => d.Closed);
        var complete = dashboards.Count(d => d.Ticks == events && d.InOrder);
        var delivered = dashboards.Sum(d => (long)d.Ticks);
        var statuses = string.Join(",", dashboards.Where(d => d.Closed).Select(d => d.CloseStatus).Distinct());
        foreach (var d in dashboards)
        {
            await d.DisposeAsync();
        }

        foreach (var invoker in invokers)
        {
            invoker.Dispose();
        }

        return $"burst: {clients} clients x {events} events: {closed} closed{(closed > 0 ? $" ({statuses})" : "")}, {complete} complete and in order, {delivered} of {(long)clients * events} delivered in {elapsed:0.0} s";
    }

    /// <summary>Rounds of: (before each) <paramref name="beforeRound"/>, open + auth a new dashboard, one event to the watcher.</summary>
    private static async Task<string> MeasureAsync(string name, Child server, Uri uri, Dashboard watcher, int rounds, Func<Task>? beforeRound)
    {
        var opens = new List<double>();
        var latencies = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            if (beforeRound is not null)
            {
                await beforeRound();
            }

            var watch = Stopwatch.StartNew();
            try
            {
                await using var client = await Dashboard.OpenAsync(uri, Token($"new{round}", [WatchGuild]), IPAddress.Loopback).WaitAsync(GiveUpAfter);
                opens.Add(watch.Elapsed.TotalMilliseconds);
            }
            catch (Exception ex) when (ex is TimeoutException or WebSocketException or InvalidOperationException)
            {
                opens.Add(double.PositiveInfinity);
                Log($"{name}: open + auth failed: {ex.Message}");
            }

            var before = watcher.Ticks;
            await server.SendAsync($"bcast {WatchGuild} 1 150");
            var wait = Stopwatch.StartNew();
            while (watcher.Ticks == before && wait.Elapsed < GiveUpAfter)
            {
                await Task.Delay(1);
            }

            latencies.Add(watcher.Ticks == before ? double.PositiveInfinity : watcher.LastLatencyMs);
            await Task.Delay(200);
        }

        return $"{name}: open + auth {Summary(opens)}; event latency {Summary(latencies)} ({rounds} rounds)";
    }

    private static string Summary(List<double> values)
    {
        var sorted = values.Order().ToArray();
        static string F(double v) => double.IsPositiveInfinity(v) ? $">{GiveUpAfter.TotalMilliseconds:0}" : v.ToString("0", CultureInfo.InvariantCulture);
        return $"median {F(sorted[sorted.Length / 2])} ms, max {F(sorted[^1])} ms";
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[4096];
        var text = new StringBuilder();
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, cts.Token);
            if (read == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return text.ToString();
    }

    private static string Garbage(int length, int shape)
    {
        var chars = Convert.ToBase64String(RandomNumberGenerator.GetBytes(length * 3 / 4)).TrimEnd('=').Replace('+', '-').Replace('/', '_').ToCharArray();
        var dots = shape switch { 0 => 0, 1 => 2, _ => 4 }; // no token, a JWS, a JWE
        for (var d = 1; d <= dots; d++)
        {
            chars[chars.Length * d / (dots + 1)] = '.';
        }

        return new string(chars);
    }

    private static string Token(string userId, string[] guilds) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Claims = new Dictionary<string, object> { ["sub"] = userId, ["guilds"] = guilds },
        Expires = DateTime.UtcNow.AddHours(4),
        SigningCredentials = new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(Secret)), SecurityAlgorithms.HmacSha256),
        TokenType = "liveupdates+jwt", // a connection token (docs/security.md); other servers ignore typ and aud
        Audience = "liveupdates",
    });

    private static void Log(string message) => Console.Error.WriteLine($"[{DateTime.Now:HH:mm:ss}] {message}");

    /// <summary>A dashboard: connects from a given loopback address, authenticates, reads every message; counts <c>bench:tick</c> events.</summary>
    private sealed class Dashboard : IAsyncDisposable
    {
        private static readonly byte[] s_tick = "\"event\":\"bench:tick\""u8.ToArray();
        private readonly ClientWebSocket _socket;
        private readonly HttpMessageInvoker? _ownedInvoker;
        private readonly byte[] _buffer = new byte[64 * 1024];
        private readonly SemaphoreSlim _sendLock = new(1, 1);
        private Task _reader = Task.CompletedTask;
        private int _ticks;
        private long _lastIndex = -1;

        private Dashboard(ClientWebSocket socket, HttpMessageInvoker? ownedInvoker)
        {
            _socket = socket;
            _ownedInvoker = ownedInvoker;
        }

        public int Ticks => Volatile.Read(ref _ticks);

        public double LastLatencyMs { get; private set; }

        public bool InOrder { get; private set; } = true;

        public bool Closed { get; private set; }

        public WebSocketCloseStatus? CloseStatus { get; private set; }

        public static HttpMessageInvoker From(IPAddress local) => new(new SocketsHttpHandler
        {
            ConnectCallback = async (context, ct) =>
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    s.Bind(new IPEndPoint(local, 0));
                    await s.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(s, ownsSocket: true);
                }
                catch
                {
                    s.Dispose();
                    throw;
                }
            },
        });

        public static Task<Dashboard> OpenAsync(Uri uri, string token, IPAddress local) => OpenAsync(uri, token, From(local), owned: true);

        public static Task<Dashboard> OpenAsync(Uri uri, string token, HttpMessageInvoker invoker) => OpenAsync(uri, token, invoker, owned: false);

        private static async Task<Dashboard> OpenAsync(Uri uri, string token, HttpMessageInvoker invoker, bool owned)
        {
            var socket = new ClientWebSocket();
            socket.Options.KeepAliveInterval = TimeSpan.Zero;
            var dashboard = new Dashboard(socket, owned ? invoker : null);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await socket.ConnectAsync(uri, invoker, cts.Token);
            await dashboard.ExpectAsync("connected", cts.Token);
            await dashboard.SendAsync($"{{\"type\":\"auth\",\"token\":\"{token}\"}}", cts.Token);
            await dashboard.ExpectAsync("authenticated", cts.Token);
            return dashboard;
        }

        public async Task SubscribeAsync(string guildId)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await SendAsync($"{{\"type\":\"subscribe\",\"guildId\":\"{guildId}\"}}", cts.Token);
            await ExpectAsync("subscribed", cts.Token);
            _reader = Task.Run(ReadLoopAsync);
        }

        /// <summary>Sends an application ping every <paramref name="interval"/> (the server's IdleTimeout counts messages, not WebSocket pongs).</summary>
        public async Task PingAsync(TimeSpan interval, CancellationToken stop)
        {
            try
            {
                while (!stop.IsCancellationRequested)
                {
                    await Task.Delay(interval, stop);
                    await _sendLock.WaitAsync(stop);
                    try
                    {
                        await SendAsync("{\"type\":\"ping\"}", stop);
                    }
                    finally
                    {
                        _sendLock.Release();
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
            {
            }
        }

        private async Task SendAsync(string text, CancellationToken ct) =>
            await _socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, ct);

        private async Task ExpectAsync(string eventName, CancellationToken ct)
        {
            var expected = Encoding.UTF8.GetBytes($"\"event\":\"{eventName}\"");
            while (true)
            {
                var length = await ReceiveAsync(ct);
                if (length < 0)
                {
                    throw new InvalidOperationException($"closed while waiting for {eventName}: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
                }

                if (_buffer.AsSpan(0, length).IndexOf(expected) >= 0)
                {
                    return;
                }
            }
        }

        private async Task<int> ReceiveAsync(CancellationToken ct)
        {
            var length = 0;
            while (true)
            {
                var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), ct);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return -1;
                }

                length += result.Count;
                if (result.EndOfMessage)
                {
                    return length;
                }
            }
        }

        private async Task ReadLoopAsync()
        {
            try
            {
                while (true)
                {
                    var length = await ReceiveAsync(CancellationToken.None);
                    if (length < 0)
                    {
                        break;
                    }

                    var received = Stopwatch.GetTimestamp();
                    var span = _buffer.AsSpan(0, length);
                    if (span.IndexOf(s_tick) < 0)
                    {
                        continue;
                    }

                    using var doc = JsonDocument.Parse(_buffer.AsMemory(0, length));
                    var data = doc.RootElement.GetProperty("data");
                    var index = data.GetProperty("i").GetInt64();
                    if (index != _lastIndex + 1 && !(index == 0 && _lastIndex >= 0))
                    {
                        InOrder = false;
                    }

                    _lastIndex = index;
                    LastLatencyMs = (received - data.GetProperty("t").GetInt64()) * 1000.0 / Stopwatch.Frequency;
                    Interlocked.Increment(ref _ticks);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or IOException or ObjectDisposedException)
            {
            }

            CloseStatus = _socket.CloseStatus;
            Closed = true;
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                if (_socket.State == WebSocketState.Open)
                {
                    using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", cts.Token);
                }
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
            }

            _socket.Dispose();
            await Task.WhenAny(_reader, Task.Delay(1000));
            _ownedInvoker?.Dispose();
            _sendLock.Dispose();
        }
    }

    /// <summary>The <see cref="AttackServer"/> process: one command line in, one JSON line out.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;

        private Child(Process process) => _process = process;

        public static async Task<Child> StartAsync(int port)
        {
            var host = Environment.ProcessPath!;
            var info = new ProcessStartInfo(host) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                info.ArgumentList.Add(typeof(Child).Assembly.Location);
            }

            foreach (var arg in new[] { "attack-server", "--port", port.ToString(CultureInfo.InvariantCulture), "--secret", Secret })
            {
                info.ArgumentList.Add(arg);
            }

            var child = new Child(Process.Start(info) ?? throw new InvalidOperationException("could not start the server process"));
            var ready = await child.ReadAsync();
            Log($"server ready, pid {ready.GetProperty("pid").GetInt32()}");
            return child;
        }

        public async Task<JsonElement> SendAsync(string command)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await ReadAsync();
        }

        private async Task<JsonElement> ReadAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            var line = await _process.StandardOutput.ReadLineAsync(cts.Token) ?? throw new InvalidOperationException("the server process ended");
            return JsonDocument.Parse(line).RootElement.Clone();
        }

        public async ValueTask DisposeAsync()
        {
            try
            {
                await SendAsync("quit");
                await _process.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token);
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
}
