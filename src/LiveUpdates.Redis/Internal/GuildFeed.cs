using System.Runtime.CompilerServices;
using StackExchange.Redis;
using StreamPosition = LiveUpdates.Brokers.StreamPosition;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// One guild this instance subscribed to: its channel subscription and the position of the last publication handed
/// to the server. Everything that hands publications over (pub/sub messages, repairs, catch-up on a history read,
/// position checks) runs under <see cref="Gate"/>, so the server sees the guild's publications once each, in order.
/// </summary>
internal sealed class GuildFeed(string guildId)
{
    public string GuildId { get; } = guildId;

    public SemaphoreSlim Gate { get; } = new(1, 1);

    /// <summary>Gets or sets how many subscribers asked for the guild; changed under <see cref="RedisFeeds"/>' lock.</summary>
    public int References { get; set; }

    /// <summary>Gets or sets the channel subscription; <see langword="null"/> until it succeeded.</summary>
    public ChannelMessageQueue? Queue { get; set; }

    private const int RecentCount = 256;
    private readonly long[] _recentSeq = new long[RecentCount];
    private readonly long[] _recentId = new long[RecentCount];
    private volatile StrongBox<Anchor>? _anchor;

    /// <summary>Gets the last position handed to the server; <see langword="null"/> until the stream was first read. Set with <see cref="SetDelivered"/>.</summary>
    public StreamPosition? Delivered { get; private set; }

    /// <summary>Gets the identity of the entry at <see cref="Delivered"/>; 0 when unknown.</summary>
    public long DeliveredId { get; private set; }

    /// <summary>Gets <see cref="Delivered"/> with its identity, for any thread (the outbox's anchor): <see langword="null"/> until known.</summary>
    public Anchor? SharedAnchor => _anchor?.Value;

    private StreamPosition? _covered;

    /// <summary>Records that subscribers were told to refetch up to <paramref name="position"/>: late channel messages up to it are expected. Under <see cref="Gate"/>.</summary>
    public void Cover(StreamPosition position) => _covered = position;

    /// <summary>Whether a refetch of <see cref="Delivered"/>'s epoch covered <paramref name="seq"/>.</summary>
    public bool Covers(long seq) => _covered is { } covered && Delivered is { } delivered && seq <= covered.Seq && string.Equals(covered.Epoch, delivered.Epoch, StringComparison.Ordinal);

    /// <summary>Records the last position handed to the server and its entry's identity (0 if unknown); under <see cref="Gate"/>.</summary>
    public void SetDelivered(StreamPosition position, long id)
    {
        Delivered = position;
        DeliveredId = id;
        if (id != 0)
        {
            _recentSeq[position.Seq % RecentCount] = position.Seq;
            _recentId[position.Seq % RecentCount] = id;
        }

        _anchor = new StrongBox<Anchor>(new Anchor(position, id));
        if (_progress is { } progress)
        {
            _progress = null;
            progress.TrySetResult();
        }
    }

    private TaskCompletionSource? _progress;

    /// <summary>A task that completes when <see cref="Delivered"/> next changes (a history read waiting for pub/sub); under <see cref="Gate"/>.</summary>
    public Task NextDelivered() => (_progress ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Whether one of the last delivered publications had position <paramref name="seq"/> (of <see cref="Delivered"/>'s epoch) and identity <paramref name="id"/>: a late copy, not another event.</summary>
    public bool DeliveredRecently(long seq, long id) => id != 0 && _recentSeq[seq % RecentCount] == seq && _recentId[seq % RecentCount] == id;

    /// <summary>
    /// Gets or sets a value indicating whether publications may have been missed and not yet checked: the first
    /// read failed, a command failed, or the connection was lost. The next position check settles it.
    /// </summary>
    public bool Stale { get; set; }

    /// <summary>Gets or sets the stream's top that a routine position check saw ahead of what was delivered, left to pub/sub until the next check; under <see cref="Gate"/>.</summary>
    public StreamPosition? Awaited { get; set; }

    /// <summary>Gets or sets a value indicating whether the guild had subscribers before its position was ever known (they must refetch once it is).</summary>
    public bool UnknownWhileWatched { get; set; }

    /// <summary>Gets or sets a value indicating whether the feed was removed (its last subscriber left): late messages are ignored.</summary>
    public bool Closed { get; set; }
}
