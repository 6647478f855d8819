using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace LiveUpdates.LoadTest;

/// <summary>
/// Turns a run's JSON into one Markdown table: every target side by side, lost deliveries beside each scenario's
/// throughput and latency, and ratios against the peers. A scenario that lost deliveries or had clients cut is
/// LOSSY: its throughput is not shown and it counts in no ratio and as no "best".
/// </summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly string[] s_ours = ["liveupdates", "liveupdates-batch", "liveupdates-aspnetcore", "liveupdates-aspnetcore-batch"];
    private static readonly string[] s_dotnetPeers = ["kestrel", "signalr"];
    private static readonly string[] s_peers = ["kestrel", "node-ws", "signalr"];

    private enum Kind
    {
        Higher,
        Lower,
        Throughput,
        Latency,
        Call,
        Loss,
    }

    public static string Markdown(JsonObject results)
    {
        var targets = (JsonObject)results["targets"]!;
        var names = targets.Select(t => t.Key).ToArray();
        var n = results["settings"]!["clients"]!.GetValue<int>();
        var sb = new StringBuilder();
        var machine = results["machine"]!;
        sb.Append("# Load run, ").Append(results["date"]).AppendLine().AppendLine();
        sb.Append("Machine: ").Append(machine["cpu"]).Append(", ").Append(machine["cores"]).Append(" cores, ").Append(machine["memoryGiB"]).Append(" GiB, ")
            .Append(machine["os"]).Append(", ").Append(machine["runtime"]).AppendLine(". Loopback; the generator shares the cores.");
        sb.Append("N = ").Append(n.ToString("N0", Inv)).Append(" clients; wall time ").Append((results["wallSeconds"]?.Num() ?? 0).ToString("F0", Inv))
            .Append(" s (").AppendJoin(", ", names.Select(x => $"{x} {(targets[x]!["wallSeconds"]?.Num() ?? 0).ToString("F0", Inv)} s")).AppendLine(").").AppendLine();

        sb.AppendLine("Settings that are not the server's defaults (everything else is):").AppendLine();
        foreach (var name in names)
        {
            var list = targets[name]!["nonDefaultSettings"] as JsonArray;
            sb.Append("- ").Append(name).Append(": ");
            sb.AppendLine(list is null || list.Count == 0
                ? (targets[name]!["error"] is null ? "none" : "—")
                : string.Join("; ", list.Select(s => $"`{s!["name"]}` = {s["value"]} (default {s["default"]}): {s["why"]}")));
        }

        sb.AppendLine();
        var has = (Func<string, bool>)(x => targets.ContainsKey(x));
        var ratioHeaders = new List<string>();
        // Per transport: plain clients against Kestrel, batch clients against the best .NET peer (issue 21's targets).
        foreach (var ours in new[] { "liveupdates", "liveupdates-aspnetcore" })
        {
            if (has(ours) && has("kestrel"))
            {
                ratioHeaders.Add($"{ours} / kestrel");
            }

            if (has(ours + "-batch") && s_dotnetPeers.Any(has))
            {
                ratioHeaders.Add($"{ours}-batch / best .NET peer");
            }
        }

        if (s_ours.Any(has) && s_peers.Any(has))
        {
            ratioHeaders.Add("best of ours / best peer");
        }

        sb.Append("| measure | ").AppendJoin(" | ", names);
        foreach (var h in ratioHeaders)
        {
            sb.Append(" | ").Append(h);
        }

        sb.AppendLine(" |");
        sb.Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", names.Length + ratioHeaders.Count))).AppendLine();

        void Row(string label, Func<JsonNode?, JsonNode?> get, string format, Kind kind) => NamedRow(label, (_, t) => get(t), format, kind);

        void NamedRow(string label, Func<string, JsonNode?, JsonNode?> get, string format, Kind kind)
        {
            var values = names.ToDictionary(x => x, x => targets[x]!["error"] is null ? get(x, targets[x]) : null, StringComparer.Ordinal);
            if (values.Values.All(v => v is null))
            {
                return;
            }

            sb.Append("| ").Append(label).Append(" |");
            foreach (var name in names)
            {
                sb.Append(' ').Append(targets[name]!["error"] is null ? Cell(values[name], format, kind) : "FAILED").Append(" |");
            }

            double? Main(string name) => values.TryGetValue(name, out var v) ? MainValue(v, kind) : null;
            double? Best(IEnumerable<string> of) =>
                of.Select(Main).Where(x => x is not null).Select(x => x!.Value).DefaultIfEmpty(double.NaN).Aggregate((a, b) => Better(kind, a, b) ? a : b) is var best && !double.IsNaN(best) ? best : null;

            foreach (var header in ratioHeaders)
            {
                var ours = header.Split(' ')[0];
                var cell = kind == Kind.Loss ? "" : header switch
                {
                    _ when header.EndsWith(" / kestrel", StringComparison.Ordinal) => Ratio(values[ours], Main(ours), Main("kestrel"), kind),
                    _ when header.EndsWith(" / best .NET peer", StringComparison.Ordinal) => Ratio(values[ours], Main(ours), Best(s_dotnetPeers.Where(has)), kind),
                    _ => Ratio(null, Best(s_ours.Where(has)), Best(s_peers.Where(has)), kind),
                };
                sb.Append(' ').Append(cell).Append(" |");
            }

            sb.AppendLine();
        }

        JsonNode? Path(JsonNode? node, string path)
        {
            foreach (var part in path.Split('.'))
            {
                node = node?[part];
            }

            return node;
        }

        var nText = n.ToString("N0", Inv);
        Row("connect + auth (connections/s)", t => Path(t, "connectPerSecond"), "N0", Kind.Higher);
        Row($"RSS per idle authenticated connection at {(n / 2).ToString("N0", Inv)} (bytes)", t => Path(t, "memory.perConnectionAtHalf"), "N0", Kind.Lower);
        Row($"RSS per idle authenticated connection at {nText} (bytes)", t => Path(t, "memory.perConnectionAtFull"), "N0", Kind.Lower);
        Row($"managed heap per idle connection at {nText}, after full GC (bytes; node-ws: V8 heap + external)", t => Path(t, "memory.gcHeapPerConnectionAtFull"), "N0", Kind.Lower);
        // Our share apart from the transport's own: each of our targets minus its transport's floor (httplistener-floor
        // for the HttpListener, kestrel-floor for ASP.NET Core), where that floor ran.
        double? Floor(string name, string path) =>
            (name.StartsWith("liveupdates-aspnetcore", StringComparison.Ordinal) ? "kestrel-floor" : "httplistener-floor") is var floor
            && has(floor) && targets[floor]!["error"] is null ? Path(targets[floor], path)?.Num() : null;
        JsonNode? Own(string name, JsonNode? t, string path) =>
            s_ours.Contains(name) && Floor(name, path) is { } floor && Path(t, path) is { } v ? JsonValue.Create(v.Num() - floor) : null;
        NamedRow("LiveUpdates' own share per idle connection: managed heap minus its transport's floor (bytes; SPEC ≤ 1,536)", (x, t) => Own(x, t, "memory.gcHeapPerConnectionAtFull"), "N0", Kind.Lower);
        NamedRow("LiveUpdates' own share per idle connection: RSS minus its transport's floor (bytes)", (x, t) => Own(x, t, "memory.perConnectionAtFull"), "N0", Kind.Lower);

        Row($"clients cut while idle (of {nText})", t => Path(t, "memory.clientsCutWhileIdle"), "N0", Kind.Loss);
        Row($"RSS per connection, subscribed, at {nText} (bytes)", t => Path(t, "memory.perConnectionSubscribed"), "N0", Kind.Lower);

        // In the order they ran (every target runs the same list; the first target with the most scenarios gives it).
        var scenarioKeys = targets.Select(t => t.Value?["scenarios"] as JsonObject).Where(s => s is not null).OrderByDescending(s => s!.Count)
            .FirstOrDefault()?.Select(p => p.Key).ToArray() ?? [];
        foreach (var key in scenarioKeys)
        {
            var sample = targets.Select(t => t.Value?["scenarios"]?[key]).FirstOrDefault(x => x is not null)!;
            var title = sample["title"]!.GetValue<string>();
            JsonNode? S(JsonNode? t) => t?["scenarios"]?[key];
            if (sample["skipped"] is { } skipped)
            {
                sb.Append("| ").Append(title).Append(" (").Append(skipped.GetValue<string>()).Append(") | ")
                    .AppendJoin(" | ", names.Select(x => S(targets[x]) is null ? "—" : "skipped")).Append(string.Concat(ratioHeaders.Select(_ => " | "))).AppendLine(" |");
                continue;
            }

            if (key.StartsWith("cost_", StringComparison.Ordinal))
            {
                Row($"{title}: p50 / p99 / mean wall, p50 CPU (µs)", t => S(t)?["callUs"], "call", Kind.Call);
                continue;
            }

            var paced = sample["rate"]!.Num() > 0;
            Row($"{title}: deliveries/s", S, "N0", Kind.Throughput);
            Row($"{title}: latency {(paced ? "p50 / p90 / p99 / max" : "p50 / p99")} (ms)", S, paced ? "lat4" : "lat", Kind.Latency);
            Row($"{title}: lost deliveries (of {sample["deliveriesExpected"]!.Num().ToString("N0", Inv)}); clients cut by close code", S, "loss", Kind.Loss);
            Row($"{title}: server CPU per delivery (µs)", t => S(t)?["serverCpuUsPerDelivery"], "N2", Kind.Lower);
        }

        sb.AppendLine();
        sb.AppendLine("LOSSY: the scenario lost deliveries (expected − received > 0) or had clients cut; its throughput is not given and it counts in no ratio or \"best\". "
            + "CAPPED: the server's Broadcast() calls took longer than the cap (--broadcast-cap), so it broadcast fewer events; what it did broadcast is what is expected. "
            + "Ratios: throughput and connections/s ours ÷ theirs (higher is better); latency by p99 and memory, ours ÷ theirs (lower is better). "
            + "Best .NET peer: the better of kestrel and signalr; best peer: of kestrel, node-ws and signalr; best of ours: of liveupdates(-aspnetcore) and its -batch. Our own share: minus httplistener-floor (HttpListener targets) or kestrel-floor (ASP.NET Core targets).");
        foreach (var name in names.Where(x => targets[x]!["error"] is not null))
        {
            sb.AppendLine().Append("**").Append(name).Append(" failed:** ").AppendLine(targets[name]!["error"]!.GetValue<string>());
        }

        return sb.ToString();
    }

    /// <summary>Any JSON number as a double (values read back from a file are doubles, fresh ones keep their type).</summary>
    private static double Num(this JsonNode node) =>
        node.AsValue() is var v && v.TryGetValue<double>(out var d) ? d : v.TryGetValue<long>(out var l) ? l : v.GetValue<int>();

    private static bool Lossy(JsonNode? scenario) => scenario?["lossy"]?.GetValue<bool>() == true;

    private static double? MainValue(JsonNode? v, Kind kind)
    {
        if (v is null || (kind is Kind.Throughput or Kind.Latency && Lossy(v)))
        {
            return null;
        }

        return kind switch
        {
            Kind.Throughput => v["deliveriesPerSecond"]!.Num(),
            Kind.Latency => v["latencyUs"]?["p99"]?.Num(),
            Kind.Call => v["p50"]!.Num(),
            Kind.Loss => null,
            _ => v.Num(),
        };
    }

    private static bool Better(Kind kind, double a, double b) => kind is Kind.Higher or Kind.Throughput ? a >= b : a <= b;

    private static string Ratio(JsonNode? ourScenario, double? ours, double? theirs, Kind kind)
    {
        if (kind is Kind.Throughput or Kind.Latency && Lossy(ourScenario))
        {
            return "LOSSY";
        }

        // A ratio of a figure at or below zero means nothing (an RSS that shrank below the warm-up's, on a small run).
        return ours is null || theirs is null || ours <= 0 || theirs <= 0 ? "—" : (ours.Value / theirs.Value).ToString("F2", Inv) + "×";
    }

    private static string Cell(JsonNode? v, string format, Kind kind)
    {
        if (v is null)
        {
            return "—";
        }

        string Ms(string q) => v["latencyUs"]?[q] is { } x && !double.IsNaN(x.Num()) ? (x.Num() / 1000).ToString("F2", Inv) : "—";
        return format switch
        {
            "N0" when kind == Kind.Throughput => (Lossy(v) ? "LOSSY" : v["deliveriesPerSecond"]!.Num().ToString("N0", Inv)) + Capped(v),
            "lat" => $"{Ms("p50")} / {Ms("p99")}{(Lossy(v) ? " (LOSSY)" : "")}",
            "lat4" => $"{Ms("p50")} / {Ms("p90")} / {Ms("p99")} / {Ms("max")}{(Lossy(v) ? " (LOSSY)" : "")}",
            "loss" => LossCell(v),
            "call" => $"{v["p50"]!.Num().ToString("F2", Inv)} / {v["p99"]!.Num().ToString("F1", Inv)} / {v["mean"]!.Num().ToString("F1", Inv)}, {v["cpuP50"]!.Num().ToString("F2", Inv)}",
            _ => v.Num().ToString(format, Inv),
        };
    }

    private static string Capped(JsonNode v) => v["broadcastCapped"]?.GetValue<bool>() == true
        ? $" (CAPPED: {v["eventsBroadcast"]!.Num().ToString("N0", Inv)} of {v["events"]!.Num().ToString("N0", Inv)} events broadcast)"
        : "";

    private static string LossCell(JsonNode v)
    {
        var lost = v["lostDeliveries"]!.Num();
        var cut = v["clientsCut"] as JsonObject;
        var text = lost.ToString("N0", Inv);
        if (cut is { Count: > 0 })
        {
            text += "; cut " + string.Join(", ", cut.Select(p => $"{p.Key} × {p.Value}"));
        }

        if (v["clientsAlreadyCut"]?.Num() is > 0 and var already)
        {
            text += $"; {already} cut earlier";
        }

        return text;
    }
}
