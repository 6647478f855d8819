using System.Globalization;
using LiveUpdates.LoadTest;
using LiveUpdates.LoadTest.Servers;

// Usage:
//   dotnet run -c Release --project tests/LiveUpdates.LoadTest -- run [--clients 10000] [--targets liveupdates,liveupdates-batch,kestrel] [--out results.json]
//   ... -- server --impl liveupdates|kestrel --port 3002 --secret S     (started by `run`; obeys commands on stdin)
//   ... -- attack [--scenarios baseline,trickle,silent,auth-flood,burst] [--rounds 10]   (issue 10; see Attacks/AttackTool.cs)
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
        return await ServerProcess.RunAsync(Opt("impl", "liveupdates"), Int("port", 3002), Opt("secret", ""));
    case "clients":
        // Subscribers for the BenchmarkDotNet Broadcast() benchmark: connect, subscribe, read until stdin closes.
        return await SubscriberProcess.RunAsync(new Uri(Opt("uri", "ws://127.0.0.1:3002/")), Opt("token", ""), Opt("guild", ""), Int("count", 1), Opt("batch", "true") == "true");
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

        var settings = new RunSettings(
            Clients: Int("clients", 10_000),
            Targets: Opt("targets", "liveupdates,liveupdates-batch,kestrel").Split(','),
            PortBase: Int("port", 3002),
            OutJson: options.GetValueOrDefault("out"),
            BurstOneGuildSmall: Int("burst-1k", 800),
            BurstOneGuildLarge: Int("burst-all", 250),
            EventsPerSmallGuild: Int("events-per-small-guild", 50),
            LatencyRate: double.Parse(Opt("latency-rate", "50"), CultureInfo.InvariantCulture),
            LatencySeconds: Int("latency-seconds", 10),
            PadBytes: Int("pad", 64),
            ConnectConcurrency: Int("connect-concurrency", 64),
            PauseAfterConnect: Int("pause-after-connect", 0),
            ConnectOnly: Opt("connect-only", "false") == "true",
            Scenarios: Opt("scenarios", "cost,fanout,latency,stall"),
            Repeats: Int("repeats", 3),
            CostRate: Int("cost-rate", 0));
        return await new Runner(settings).RunAsync();
    default:
        Console.Error.WriteLine("usage: run [--clients N] [--targets liveupdates,liveupdates-batch,kestrel] [--out file.json] | server --impl liveupdates|kestrel --port P --secret S");
        return 2;
}
