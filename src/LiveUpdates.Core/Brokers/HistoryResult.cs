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

    /// <summary>
    /// The one rule for "recovered, or refetch", used by every broker: a reader at <paramref name="since"/> recovers
    /// when it is in the stream's current epoch, not ahead of it, and <paramref name="retained"/> holds every
    /// publication after it up to <paramref name="current"/>, consecutively and none of them a gap; otherwise it must
    /// refetch. A broker reads what its stream still holds after the position (leaving out what was evicted or has
    /// expired) and lets this method answer.
    /// </summary>
    /// <param name="current">The stream's position now: its last publication (sequence number 0 before the first).</param>
    /// <param name="since">The reader's last position, or <see langword="null"/> when it asked for none (the answer then only says <paramref name="current"/>).</param>
    /// <param name="retained">The publications the stream still holds after <paramref name="since"/>, in stream order.</param>
    /// <returns>The answer: <see cref="Publications"/> is <paramref name="retained"/> when the position is recovered, empty otherwise.</returns>
    public static HistoryResult FromStream(StreamPosition current, StreamPosition? since, IReadOnlyList<Publication> retained)
    {
        ArgumentNullException.ThrowIfNull(retained);
        if (since is not { } from)
        {
            return new HistoryResult(current, null, []);
        }

        if (!string.Equals(from.Epoch, current.Epoch, StringComparison.Ordinal) || from.Seq > current.Seq || retained.Count != current.Seq - from.Seq)
        {
            return new HistoryResult(current, false, []);
        }

        for (var i = 0; i < retained.Count; i++)
        {
            var publication = retained[i];
            if (publication.Position.Seq != from.Seq + 1 + i || publication.Message.IsGap ||
                !string.Equals(publication.Position.Epoch, current.Epoch, StringComparison.Ordinal))
            {
                return new HistoryResult(current, false, []); // evicted, expired or a gap on the way
            }
        }

        return new HistoryResult(current, true, retained.Count == 0 ? [] : retained);
    }

    /// <summary>Gets the stream's position when the history was read.</summary>
    public StreamPosition Current { get; }

    /// <summary>Gets whether the asked position could be recovered (see the constructor).</summary>
    public bool? Recovered { get; }

    /// <summary>Gets the publications after the asked position, in stream order.</summary>
    public IReadOnlyList<Publication> Publications { get; }
}
