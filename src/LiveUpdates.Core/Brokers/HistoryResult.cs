namespace LiveUpdates.Brokers;

/// <summary>A broker's answer to "everything after position P": the publications, or "you must refetch".</summary>
public sealed class HistoryResult
{
    /// <summary>Creates an answer.</summary>
    /// <param name="current">The stream's position now: its last publication (sequence number 0 before the first).</param>
    /// <param name="recovered">
    /// <see langword="true"/> when <paramref name="publications"/> holds every publication after the asked position,
    /// none of them a gap; <see langword="false"/> when some are gone (evicted, expired, another epoch, a gap) and the
    /// reader must refetch; <see langword="null"/> when no position was asked.
    /// </param>
    /// <param name="publications">The publications after the asked position, in stream order; empty unless <paramref name="recovered"/> is <see langword="true"/>.</param>
    public HistoryResult(StreamPosition current, bool? recovered, IReadOnlyList<Publication> publications)
    {
        ArgumentNullException.ThrowIfNull(publications);
        Current = current;
        Recovered = recovered;
        Publications = publications;
    }

    /// <summary>Gets the stream's position when the history was read.</summary>
    public StreamPosition Current { get; }

    /// <summary>Gets whether the asked position could be recovered (see the constructor).</summary>
    public bool? Recovered { get; }

    /// <summary>Gets the publications after the asked position, in stream order.</summary>
    public IReadOnlyList<Publication> Publications { get; }
}
