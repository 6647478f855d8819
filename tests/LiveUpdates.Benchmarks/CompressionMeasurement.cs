using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using LiveUpdates.SampleHost;
using LiveUpdates.SampleHost.Bot;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.SampleHost.Plugins.Modmail;
using LiveUpdates.SampleHost.Plugins.Tags;
using Microsoft.Extensions.DependencyInjection;

namespace LiveUpdates.Benchmarks;

/// <summary>
/// Per-message deflate on the sample's own events (issue 21): the sample host runs in-process, two clients (one plain,
/// one declaring <c>batch</c>) record the frames it really sends for each kind of event (and a burst packed into
/// frames for the batch client), then each recorded frame is sent many times through a server-side
/// <see cref="WebSocket"/> made by <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/> — the
/// same <c>ManagedWebSocket</c> and deflater ASP.NET Core's WebSocket middleware uses — with and without deflate (no
/// server context takeover, as LiveUpdates negotiates it), into a stream that counts the bytes. Reports bytes on the
/// wire and the server's CPU per message for each. Single-threaded; a quick measurement, not BenchmarkDotNet.
/// <c>dotnet run -c Release --project tests/LiveUpdates.Benchmarks -- compression</c>
/// </summary>
internal static class CompressionMeasurement
{
    private const string Secret = "compression-measurement-secret-0123456789abcdef";

    public static async Task<int> RunAsync()
    {
        var frames = await CaptureSampleFramesAsync();
        Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}; CPU time per send, best of 5 rounds of ~0.3 s of CPU each");
        Console.WriteLine();
        Console.WriteLine("| sample message | payload (B) | frame plain (B) | frame deflated (B) | saved | CPU plain (µs) | CPU deflate (µs) | CPU negotiated, not compressed (µs) | deflate extra per KB saved (µs) |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, payload) in frames)
        {
            var (plainBytes, plainMicros) = Measure(payload, deflate: false);
            var (deflatedBytes, deflateMicros) = Measure(payload, deflate: true);
            var (_, skippedMicros) = Measure(payload, deflate: true, belowThreshold: true);
            var saved = plainBytes - deflatedBytes;
            var perKb = saved > 0 ? $"{(deflateMicros - plainMicros) / (saved / 1024.0):0.0}" : "—";
            Console.WriteLine($"| {name} | {payload.Length:N0} | {plainBytes:N0} | {deflatedBytes:N0} | {100.0 * saved / plainBytes:0}% | {plainMicros:0.00} | {deflateMicros:0.00} | {skippedMicros:0.00} | {perKb} |");
        }

        return 0;
    }

    /// <summary>
    /// Bytes on the wire for one message, and the process's CPU time per send (best of five rounds of about 0.3 s of
    /// CPU each; the sample host is stopped by then, so the process's CPU is this thread's). CPU time, not wall time:
    /// the machine is shared, and wall time would measure the wait for a core.
    /// </summary>
    private static (long Bytes, double Micros) Measure(byte[] payload, bool deflate, bool belowThreshold = false)
    {
        var stream = new CountingStream();
        using var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            KeepAliveInterval = TimeSpan.Zero,
            DangerousDeflateOptions = deflate ? new WebSocketDeflateOptions { ServerContextTakeover = false } : null,
        });
        var flags = belowThreshold ? WebSocketMessageFlags.EndOfMessage | WebSocketMessageFlags.DisableCompression : WebSocketMessageFlags.EndOfMessage;
        Send(socket, payload, flags);
        var bytes = stream.Written;

        // Calibrate: enough sends for ~0.3 s of CPU per round (the process clock ticks every 10 ms).
        var calibration = CpuTime();
        var probe = 0;
        while (CpuTime() - calibration < TimeSpan.FromMilliseconds(50))
        {
            Send(socket, payload, flags);
            probe++;
        }

        var iterations = Math.Max(1000, probe * 6);
        var best = double.MaxValue;
        for (var round = 0; round < 5; round++)
        {
            var start = CpuTime();
            for (var i = 0; i < iterations; i++)
            {
                Send(socket, payload, flags);
            }

            best = Math.Min(best, (CpuTime() - start).TotalMicroseconds / iterations);
        }

        return (bytes, best);
    }

    private static TimeSpan CpuTime()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime;
    }

    private static void Send(WebSocket socket, byte[] payload, WebSocketMessageFlags flags)
    {
        var send = socket.SendAsync(payload, WebSocketMessageType.Text, flags, CancellationToken.None);
        if (!send.IsCompletedSuccessfully)
        {
            send.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Runs the sample host, makes it emit one event of each kind and a burst, and returns the frames a plain and a batch client received.</summary>
    private static async Task<List<(string Name, byte[] Payload)>> CaptureSampleFramesAsync()
    {
        var wsPort = FreePort();
        await using var app = SampleHostApp.Build(
        [
            $"--API_PORT={FreePort()}", $"--LiveUpdates:Port={wsPort}", "--LiveUpdates:Host=127.0.0.1", $"--LIVEUPDATES_TOKEN_KEY={Secret}",
            "--Logging:LogLevel:Default=Warning", "--SampleHost:Quiet=true", "--SampleBot:AutoModInterval=00:00:00",
        ]);
        await app.StartAsync();
        var uri = new Uri($"ws://127.0.0.1:{wsPort}/");
        var guild = SampleHostApp.DevGuildId;
        using var plain = await ConnectAsync(uri, guild, batch: false);
        using var batch = await ConnectAsync(uri, guild, batch: true);
        var services = app.Services;
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.Single()) };

        var result = new List<(string, byte[])>();
        async Task One(string name, Func<Task> act)
        {
            await act();
            var eventName = Encoding.UTF8.GetBytes($"\"event\":\"{name.Split(' ')[0]}\"");
            result.Add((name, await ReceiveUntilAsync(plain, eventName)));
            await ReceiveUntilAsync(batch, eventName);
        }

        await One("moderation:config_updated", async () => (await http.PutAsJsonAsync($"/api/guilds/{guild}/moderation/config", new { automod = true, maxMentions = 5, _dashboardUserId = SampleHostApp.DevUserId })).EnsureSuccessStatusCode());
        await One("moderation:rule_created", () => Task.FromResult(services.GetRequiredService<ModerationRulesService>().Create(guild, new RuleDraft("No invite links", "regex", @"discord\.gg/\w+", "delete", 1, true), SampleHostApp.DevUserId)));
        var infractions = services.GetRequiredService<InfractionService>();
        await One("moderation:infraction_created", () => Task.FromResult(infractions.Create(guild, new InfractionDraft("mute", "200000000000000003", "linus", AutoModBot.BotUserId, "Auto-mod: No scam links", 2), "automod")));
        await One("modmail:conversation_created", () => Task.FromResult(services.GetRequiredService<ModmailService>().Open(guild, "200000000000000042", "hedy", "Hello, I was muted by the auto-mod for a link to our club's server. Could someone take a look? It was the invite from the pinned message in #events.")));
        var faq = string.Join(' ', Enumerable.Repeat("New here? Read #rules first, pick your roles in #roles, and introduce yourself in #welcome. Events are announced in #events every Friday; voice channels open an hour before.", 8));
        await One($"tags:tag_created (a {faq.Length}-character FAQ tag)", () => Task.FromResult(services.GetRequiredService<TagService>().Create(guild, "faq-newcomers", faq, SampleHostApp.DevUserId)));

        // A burst: 200 infractions as fast as the bot can raise them; the batch client gets them packed in few frames.
        for (var i = 0; i < 200; i++)
        {
            infractions.Create(guild, new InfractionDraft("warn", "200000000000000001", "ada", AutoModBot.BotUserId, $"Auto-mod: No scam links (message {i})", 1), "automod");
        }

        var packed = new List<byte[]>();
        var seen = 0;
        while (seen < 200)
        {
            var frame = await ReceiveAsync(batch);
            packed.Add(frame);
            seen += frame.Count(b => b == (byte)'\n') + 1;
        }

        var largest = packed.MaxBy(f => f.Length)!;
        result.Add(($"batch frame of a 200-infraction burst ({largest.Count(b => b == (byte)'\n') + 1} events packed; {packed.Count} frames)", largest));
        await app.StopAsync();
        return result;
    }

    private static async Task<ClientWebSocket> ConnectAsync(Uri uri, string guild, bool batch)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(uri, CancellationToken.None);
        await ReceiveAsync(socket); // connected
        var token = DevelopmentTokens.Create(new LiveUpdatesOptions { ConnectionTokenKey = Secret }, SampleHostApp.DevUserId, SampleHostApp.DevGuildIds, TimeSpan.FromMinutes(10));
        await SendTextAsync(socket, $$"""{"type":"auth","token":"{{token}}","batch":{{(batch ? "true" : "false")}}}""");
        await ReceiveAsync(socket); // authenticated
        await SendTextAsync(socket, $$"""{"type":"subscribe","guildId":"{{guild}}"}""");
        await ReceiveAsync(socket); // subscribed
        return socket;
    }

    private static async Task<byte[]> ReceiveUntilAsync(ClientWebSocket socket, byte[] contains)
    {
        while (true)
        {
            var frame = await ReceiveAsync(socket);
            if (frame.AsSpan().IndexOf(contains) >= 0)
            {
                return frame;
            }
        }
    }

    private static Task SendTextAsync(ClientWebSocket socket, string text) =>
        socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, CancellationToken.None);

    private static async Task<byte[]> ReceiveAsync(ClientWebSocket socket)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var buffer = new byte[1 << 20];
        var count = 0;
        while (true)
        {
            var received = await socket.ReceiveAsync(buffer.AsMemory(count), timeout.Token);
            count += received.Count;
            if (received.EndOfMessage)
            {
                return buffer[..count];
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A stream that counts what it is given and never has anything to read (the socket is only sent on).</summary>
    private sealed class CountingStream : Stream
    {
        public long Written { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Written;

        public override long Position { get => Written; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Written += count;

        public override void Write(ReadOnlySpan<byte> buffer) => Written += buffer.Length;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Written += buffer.Length;
            return ValueTask.CompletedTask;
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Written += count;
            return Task.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => 0;

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
