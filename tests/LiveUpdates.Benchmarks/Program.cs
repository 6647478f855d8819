using BenchmarkDotNet.Running;

if (args.FirstOrDefault() == "compression")
{
    // Per-message deflate on the sample's events: a quick measurement, not BenchmarkDotNet (docs/benchmarks.md).
    return await LiveUpdates.Benchmarks.CompressionMeasurement.RunAsync();
}

BenchmarkSwitcher.FromAssembly(typeof(LiveUpdates.Benchmarks.EnvelopeBenchmarks).Assembly).Run(args);
return 0;
