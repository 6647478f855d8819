namespace LiveUpdates.Brokers;

/// <summary>
/// A place in one guild's stream: the sequence number of an event (1, 2, 3, … per guild) and the epoch of the
/// stream that numbered it. A stream that lost its history (a restart of an in-memory broker, a Redis stream that
/// expired) starts a new epoch, so a position is only comparable with positions of the same epoch.
/// </summary>
/// <param name="Seq">The sequence number: 0 before the stream's first event.</param>
/// <param name="Epoch">The stream's epoch, an opaque string.</param>
public readonly record struct StreamPosition(long Seq, string Epoch);
