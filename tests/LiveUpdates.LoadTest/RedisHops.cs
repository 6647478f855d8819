using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LiveUpdates.LoadTest.Clients;

namespace LiveUpdates.LoadTest;

/// <summary>
/// Where the latency goes, per hop (the <c>redis</c> subcommand, after the paced run): paced events published on the
/// first instance with the awaitable broadcast, each timed at publish (the call), script done (the broker confirmed
/// it), channel message (its pub/sub message reached a connection of the server process to the guild's channel, as
/// each instance's subscription receives it), first client (the fan-out reached a client) and median client (the
/// clients' receipts, p50 over every delivery). Each hop is the median over events of its time since publish; the
/// in-memory instance has no script or channel hop.
/// </summary>
internal static class RedisHops
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static async Task<JsonObject> MeasureAsync(List<ServerChild> servers, LoadClient[] members, LatencyHistogram histogram, string guild, int count, double rate)
    {
        await Runner.QuiesceAsync(members);
        histogram.Reset();
        var firsts = new ConcurrentDictionary<long, long>();
        histogram.FirstReceipts = firsts;
        try
        {
            var before = members.Select(m => m.Received).ToArray();
            var reply = await servers[0].SendAsync("hops " + JsonSerializer.Serialize(new Servers.ServerProcess.BroadcastCommand([guild], count, rate, 64), JsonSerializerOptions.Web), TimeSpan.FromMinutes(2));
            if (reply.TryGetProperty("error", out var error))
            {
                throw new InvalidOperationException(error.GetString());
            }

            var (received, _) = await Runner.WaitForAsync(members, (long)count * members.Length, TimeSpan.FromSeconds(60), before);
            var sent = reply.GetProperty("sent").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var confirmed = reply.GetProperty("confirmed").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var channel = reply.GetProperty("channel").ValueKind == JsonValueKind.Array ? reply.GetProperty("channel").EnumerateArray().Select(e => e.GetInt64()).ToArray() : null;
            var first = sent.Select(t => firsts.TryGetValue(t, out var at) ? at : 0).ToArray();
            var result = new JsonObject
            {
                ["events"] = count,
                ["rate"] = rate,
                ["lostDeliveries"] = Math.Max(0, ((long)count * members.Length) - received),
                ["scriptDoneUs"] = MedianSince(sent, confirmed),
                ["channelMessageUs"] = channel is null ? null : MedianSince(sent, channel),
                ["firstClientUs"] = MedianSince(sent, first),
                ["medianClientUs"] = histogram.Quantile(0.5),
            };
            Runner.Log($"{servers.Count} instance(s), hops of {count} events at {rate}/s (µs since publish, p50): confirmed {result["scriptDoneUs"]}, channel {result["channelMessageUs"]?.ToJsonString() ?? "-"}, first client {result["firstClientUs"]}, median client {result["medianClientUs"]}");
            return result;
        }
        finally
        {
            histogram.FirstReceipts = null;
        }
    }

    /// <summary>Table rows: per hop, the median time since publish in memory and through Redis, then the targets' ratios.</summary>
    public static void AppendRows(StringBuilder sb, JsonObject r)
    {
        static string Ms(JsonNode? n) => n is null ? "—" : (n.GetValue<double>() / 1000).ToString("F2", Inv);
        var a = r["inMemory"]!["hops"]!;
        var o = r["oneInstanceRedis"]!["hops"]!;
        var b = r["twoInstancesRedis"]!["hops"]!;
        sb.AppendLine(Inv, $"| hops, {b["events"]} events at {b["rate"]}/s, ms since publish (p50): script done (broker confirmed) | {Ms(a["scriptDoneUs"])} | {Ms(o["scriptDoneUs"])} | {Ms(b["scriptDoneUs"])} |");
        sb.AppendLine(Inv, $"| hops: channel message (pub/sub) | — | {Ms(o["channelMessageUs"])} | {Ms(b["channelMessageUs"])} |");
        sb.AppendLine(Inv, $"| hops: first client received (fan-out started, written) | {Ms(a["firstClientUs"])} | {Ms(o["firstClientUs"])} | {Ms(b["firstClientUs"])} |");
        sb.AppendLine(Inv, $"| hops: median client received (fan-out done, written) | {Ms(a["medianClientUs"])} | {Ms(o["medianClientUs"])} | {Ms(b["medianClientUs"])} |");

        double Ratio(string run) => r[run]!["burst"]!["deliveriesPerSecond"]!.GetValue<double>() / r["inMemory"]!["burst"]!["deliveriesPerSecond"]!.GetValue<double>();
        double Added(string run) => (r[run]!["paced"]!["latencyUs"]!["p50"]!.GetValue<double>() - r["inMemory"]!["paced"]!["latencyUs"]!["p50"]!.GetValue<double>()) / 1000;
        sb.AppendLine(Inv, $"| target: burst through Redis / in memory (≥ 0.90) | — | {Ratio("oneInstanceRedis"):F2} | {Ratio("twoInstancesRedis"):F2} |");
        sb.AppendLine(Inv, $"| target: paced p50 added by Redis, ms (≤ 2) | — | {Added("oneInstanceRedis"):F2} | {Added("twoInstancesRedis"):F2} |");
    }

    private static double MedianSince(long[] sent, long[] at)
    {
        var spans = sent.Zip(at, (s, t) => t == 0 ? double.NaN : (t - s) * 1_000_000.0 / Stopwatch.Frequency).Where(d => !double.IsNaN(d)).Order().ToArray();
        return spans.Length == 0 ? double.NaN : Math.Round(spans[spans.Length / 2], 1);
    }
}
