using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(LiveUpdates.Benchmarks.EnvelopeBenchmarks).Assembly).Run(args);
