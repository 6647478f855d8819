using System.Text.Json;
using BenchmarkDotNet.Attributes;
using LiveUpdates.Internal.Protocol;

namespace LiveUpdates.Benchmarks;

/// <summary>
/// The two serializations of a broadcast: the caller's payload (once per Broadcast, on the caller's thread) and the
/// envelope around it (once per broadcast, on the dispatcher, whatever the number of recipients).
/// </summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private static readonly JsonSerializerOptions s_options = new(JsonSerializerDefaults.Web);
    private readonly Tick _tick = new(123456789012, 42, new string('x', 64));
    private ReadOnlyMemory<byte> _data;

    [GlobalSetup]
    public void Setup() => _data = EnvelopeSerializer.SerializeData("bench:tick", _tick, s_options);

    /// <summary>The payload of the load tool's events, <c>{"t":…,"i":…,"pad":"x…"}</c> (~100 bytes).</summary>
    [Benchmark]
    public ReadOnlyMemory<byte> SerializeData() => EnvelopeSerializer.SerializeData("bench:tick", _tick, s_options);

    [Benchmark]
    public byte[] SerializeEvent() => EnvelopeSerializer.SerializeEvent("bench:tick", "100000000000000001", _data.Span, 1764150000000, 12345, "AbCdEfGhIjKl", out _);

    public sealed record Tick(long T, int I, string Pad);
}
