namespace LiveUpdates.LoadTest.Servers;

/// <summary>A setting a server runs with that is not its default, and why the load run needs it.</summary>
internal sealed record BenchSetting(string Name, string Value, string Default, string Why);
