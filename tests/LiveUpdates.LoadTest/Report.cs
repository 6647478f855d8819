using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace LiveUpdates.LoadTest;

/// <summary>Turns a run's JSON into the Markdown table of the README: each target side by side, and ratios against the baseline.</summary>
internal static class Report
{
    private const string Baseline = "kestrel";

    private static readonly (string Label, string Path, string Format, bool HigherIsBetter)[] s_rows =
    [
        ("connect + auth (connections/s)", "connectPerSecond", "N0", true),
        ("RSS per idle authenticated connection at N/2 (bytes)", "memory.perConnectionAtHalf", "N0", false),
        ("RSS per idle authenticated connection at N (bytes)", "memory.perConnectionAtFull", "N0", false),
        ("RSS per connection, subscribed to 2–5 guilds, at N (bytes)", "memory.perConnectionSubscribed", "N0", false),
        ("RSS per connection at N after every scenario (bytes)", "memory.perConnectionAfterScenarios", "N0", false),
        ("Broadcast() to the caller at 1,000 calls/s, 1 subscriber: p50 / p99 / mean wall, p50 CPU (µs)", "scenarios.cost_1.callUs", "pair", false),
        ("Broadcast() to the caller at 1,000 calls/s, 100 subscribers: p50 / p99 / mean wall, p50 CPU (µs)", "scenarios.cost_100.callUs", "pair", false),
        ("Broadcast() to the caller at 1,000 calls/s, 1,000 subscribers: p50 / p99 / mean wall, p50 CPU (µs)", "scenarios.cost_1000.callUs", "pair", false),
        ("Broadcast() to the caller at 1,000 calls/s, N subscribers: p50 / p99 / mean wall, p50 CPU (µs)", "scenarios.cost_N.callUs", "pair", false),
        ("caller allocation per Broadcast() incl. the 40-byte data object (bytes)", "scenarios.cost_1.callerAllocPerCall", "N0", false),
        ("fan-out, 1 guild × 1,000 (deliveries/s)", "scenarios.fanout_1k.deliveriesPerSecond", "N0", true),
        ("fan-out, 1 guild × N (deliveries/s)", "scenarios.fanout_all.deliveriesPerSecond", "N0", true),
        ("fan-out, N/10 guilds × 10 (deliveries/s)", "scenarios.fanout_small_guilds.deliveriesPerSecond", "N0", true),
        ("fan-out, 1 guild × 1,000 + 1 stalled client (deliveries/s)", "scenarios.fanout_1k_stalled.deliveriesPerSecond", "N0", true),
        ("server allocation per delivery, 1 guild × N (bytes)", "scenarios.fanout_all.serverAllocPerDelivery", "N1", false),
        ("server CPU per delivery, 1 guild × N burst (µs)", "scenarios.fanout_all.serverCpuUsPerDelivery", "N2", false),
        ("server CPU per delivery, 1,000 subscribers at 50/s (µs)", "scenarios.latency_1k.serverCpuUsPerDelivery", "N2", false),
        ("generator CPU per delivery, 1,000 subscribers at 50/s (µs)", "scenarios.latency_1k.generatorCpuUsPerDelivery", "N2", false),
        ("burst latency, 1 guild × 1,000: p50 / p99 (ms)", "scenarios.fanout_1k.latencyUs", "lat", false),
        ("burst latency, 1 guild × N: p50 / p99 (ms)", "scenarios.fanout_all.latencyUs", "lat", false),
        ("burst latency, N/10 guilds × 10: p50 / p99 (ms)", "scenarios.fanout_small_guilds.latencyUs", "lat", false),
        ("paced latency, 1,000 subscribers at 50 events/s: p50 / p90 / p99 / max (ms)", "scenarios.latency_1k.latencyUs", "lat4", false),
        ("paced latency, same + 1 stalled client: p50 / p90 / p99 / max (ms)", "scenarios.latency_1k_stalled.latencyUs", "lat4", false),
        ("paced latency, 1 guild × N at 5 events/s: p50 / p90 / p99 / max (ms)", "scenarios.latency_all.latencyUs", "lat4", false),
        ("paced latency, N/10 guilds × 10 at 2,000 events/s: p50 / p90 / p99 / max (ms)", "scenarios.latency_small_guilds.latencyUs", "lat4", false),
    ];

    public static string Markdown(JsonObject results)
    {
        var targets = (JsonObject)results["targets"]!;
        var names = targets.Select(t => t.Key).ToArray();
        var n = results["settings"]!["clients"]!.GetValue<int>();
        var ours = names.Where(x => x != Baseline).ToArray();
        var sb = new StringBuilder();
        sb.Append("N = ").Append(n.ToString("N0", CultureInfo.InvariantCulture)).AppendLine(" clients.").AppendLine();
        sb.Append("| measure | ").AppendJoin(" | ", names);
        if (targets.ContainsKey(Baseline))
        {
            foreach (var o in ours)
            {
                sb.Append(" | ").Append(o).Append(" / ").Append(Baseline);
            }
        }

        sb.AppendLine(" |");
        sb.Append("|---|").Append(string.Concat(Enumerable.Repeat("---:|", names.Length + (targets.ContainsKey(Baseline) ? ours.Length : 0)))).AppendLine();
        foreach (var (label, path, format, _) in s_rows)
        {
            var p = path.Replace("cost_N", $"cost_{n}", StringComparison.Ordinal);
            sb.Append("| ").Append(label.Replace("N/2", (n / 2).ToString("N0", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("N/10", (n / 10).ToString("N0", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("× N", "× " + n.ToString("N0", CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("at N ", "at " + n.ToString("N0", CultureInfo.InvariantCulture) + " ", StringComparison.Ordinal)
                .Replace(", N subscribers", ", " + n.ToString("N0", CultureInfo.InvariantCulture) + " subscribers", StringComparison.Ordinal)).Append(" |");
            foreach (var name in names)
            {
                sb.Append(' ').Append(Format(Get(targets[name], p), format)).Append(" |");
            }

            if (targets.ContainsKey(Baseline))
            {
                foreach (var o in ours)
                {
                    sb.Append(' ').Append(Ratio(Get(targets[o], p), Get(targets[Baseline], p), format)).Append(" |");
                }
            }

            sb.AppendLine();
        }

        return sb.ToString();
    }

    private static JsonNode? Get(JsonNode? node, string path)
    {
        foreach (var part in path.Split('.'))
        {
            node = node?[part];
        }

        return node;
    }

    private static string Format(JsonNode? v, string format)
    {
        var inv = CultureInfo.InvariantCulture;
        if (v is null)
        {
            return "—";
        }

        return format switch
        {
            "pair" => $"{v["p50"]!.GetValue<double>().ToString("F2", inv)} / {v["p99"]!.GetValue<double>().ToString("F1", inv)} / {v["mean"]!.GetValue<double>().ToString("F1", inv)}, {v["cpuP50"]!.GetValue<double>().ToString("F2", inv)}",
            "lat" => $"{Ms(v["p50"])} / {Ms(v["p99"])}",
            "lat4" => $"{Ms(v["p50"])} / {Ms(v["p90"])} / {Ms(v["p99"])} / {Ms(v["max"])}",
            _ => v.GetValue<double>().ToString(format, inv),
        };
    }

    private static string Ms(JsonNode? us) => (us!.GetValue<double>() / 1000).ToString("F2", CultureInfo.InvariantCulture);

    private static string Ratio(JsonNode? ours, JsonNode? baseline, string format)
    {
        static double? Main(JsonNode? v, string format) => v is null ? null : format switch
        {
            "pair" => v["p50"]!.GetValue<double>(),
            "lat" or "lat4" => v["p99"]!.GetValue<double>(),
            _ => v.GetValue<double>(),
        };

        var a = Main(ours, format);
        var b = Main(baseline, format);
        return a is null || b is null || b == 0 ? "—" : (a.Value / b.Value).ToString("F2", CultureInfo.InvariantCulture) + "×";
    }
}
