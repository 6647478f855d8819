using System.Globalization;
using LiveUpdates.LoadTest;
using LiveUpdates.LoadTest.Servers;

// Usage (docs/benchmarks.md lists every option):
//   dotnet tests/LiveUpdates.LoadTest/bin/Release/net10.0/LiveUpdates.LoadTest.dll run [--clients 10000] [--targets ...] [--scenarios ...]
//   ... server --impl liveupdates|kestrel|signalr|httplistener-floor --port 3002 --secret S --connections N
//       (started by `run`; obeys commands on stdin; the Node.js peer is peers/node-ws/server.mjs)
//   ... attack [--scenarios baseline,trickle,silent,auth-flood,burst] [--rounds 10]   (issue 10; see Attacks/AttackTool.cs)
//   ... redis [--clients 1000] [--burst 2000]   (two instances through Redis vs one in memory; see RedisRunner.cs)
//   ... capacity [--clients 1000,10000,100000] [--targets liveupdates,liveupdates-aspnetcore,httplistener-floor,kestrel-floor] [--addresses 8]
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i + 1 < args.Length; i += 2)
{
    options[args[i].TrimStart('-')] = args[i + 1];
}

string Opt(string name, string fallback) => options.GetValueOrDefault(name, fallback);
int Int(string name, int fallback) => int.Parse(Opt(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

switch (args.FirstOrDefault())
{
    case "server":
        return await ServerProcess.RunAsync(Opt("impl", "liveupdates"), Int("port", 3002), Opt("secret", ""), Int("connections", 0));
    case "clients":
        // Subscribers for the BenchmarkDotNet Broadcast() benchmark: connect, subscribe, read until stdin closes.
        return await SubscriberProcess.RunAsync(new Uri(Opt("uri", "ws://127.0.0.1:3002/")), Opt("token", ""), Opt("guild", ""), Int("count", 1), Opt("batch", "true") == "true");
    case "report":
        // The table again from a run's raw JSON: report --in tests/LiveUpdates.Benchmarks/results/<date>.json
        Console.WriteLine(Report.Markdown(System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllTextAsync(Opt("in", "results.json")))!.AsObject()));
        return 0;
    case "attack":
        return await LiveUpdates.LoadTest.Attacks.AttackTool.RunAsync(Opt("scenarios", "baseline,trickle,silent,auth-flood,burst"), Int("port", 3102), Int("rounds", 10), Int("burst-clients", 1000), Int("burst-events", 2000));
    case "attack-server":
        return await LiveUpdates.LoadTest.Attacks.AttackServer.RunAsync(Int("port", 3102), Opt("secret", ""));
    case "run":
        if (Opt("inline-completions", "true") == "true")
        {
            // The generator stands in for browsers on other machines, so it should take as little of the two cores as
            // it can: socket completions run on the epoll thread instead of hopping to the thread pool. Read when the
            // first socket is made, so it must be set before; the server processes do not inherit it (ServerChild).
            Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        }

        var defaults = new RunSettings();
        var settings = new RunSettings
        {
            Clients = Int("clients", defaults.Clients),
            Targets = Opt("targets", RunSettings.AllTargets).Split(','),
            Scenarios = Opt("scenarios", RunSettings.DefaultScenarios),
            PortBase = Int("port", defaults.PortBase),
            OutJson = options.GetValueOrDefault("out"),
            OutDirectory = options.GetValueOrDefault("out-dir"),
            GuildMembers = Int("guild-members", defaults.GuildMembers),
            Bursts = [.. Opt("bursts", string.Join(',', defaults.Bursts)).Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))],
            PacedRate = double.Parse(Opt("paced-rate", defaults.PacedRate.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture),
            PacedSeconds = Int("paced-seconds", defaults.PacedSeconds),
            WideClients = Int("wide-clients", defaults.WideClients),
            EventsPerWideGuild = Int("events-per-guild", defaults.EventsPerWideGuild),
            KbEvents = Int("kb-events", defaults.KbEvents),
            KbPadBytes = Int("kb-pad", defaults.KbPadBytes),
            PadBytes = Int("pad", defaults.PadBytes),
            ConnectConcurrency = Int("connect-concurrency", defaults.ConnectConcurrency),
            PingSeconds = Int("ping-seconds", defaults.PingSeconds),
            Repeats = Int("repeats", defaults.Repeats),
            ScenarioTimeoutSeconds = Int("scenario-timeout", defaults.ScenarioTimeoutSeconds),
            BroadcastCapSeconds = Int("broadcast-cap", defaults.BroadcastCapSeconds),
            CostRate = Int("cost-rate", defaults.CostRate),
            PauseAfterConnect = Int("pause-after-connect", 0),
        };
        return await new Runner(settings).RunAsync();
    case "capacity":
        // Connection count at 1k / 10k / 100k, per transport (CapacityRunner.cs; docs/benchmarks.md "Capacity").
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        return await new CapacityRunner(
            [.. Opt("clients", "1000,10000,100000").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture))],
            Opt("targets", "liveupdates,liveupdates-aspnetcore,httplistener-floor,kestrel-floor").Split(','),
            Int("addresses", 8), Int("big-guild", 10_000), Int("guilds", 1000), Int("broadcasts", 5), Int("port", 3202), options.GetValueOrDefault("out")).RunAsync();
    case "redis":
        // Two LiveUpdates instances sharing a redis-server the tool starts, against one in-memory instance (docs/scale-out.md).
        Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        return await new RedisRunner(Int("clients", 1000), Int("burst", 2000), Int("paced-rate", 50), Int("paced-seconds", 10), Int("publishes", 20000), Int("repeats", 3), options.GetValueOrDefault("out")).RunAsync();
    default:
        Console.Error.WriteLine($"usage: redis [--clients 1000] [--burst 2000] [--repeats 3] [--paced-rate 50] [--paced-seconds 10] [--publishes 20000] [--out FILE] | run [--clients N] [--targets {RunSettings.AllTargets}] [--scenarios {RunSettings.DefaultScenarios}[,cost,stall,redis]] [--out-dir DIR] | server --impl liveupdates|kestrel|signalr|httplistener-floor --port P --secret S --connections N");
        return 2;
}
