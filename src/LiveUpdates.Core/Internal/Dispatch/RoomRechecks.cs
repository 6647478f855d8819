using System.Threading.Channels;
using LiveUpdates.Brokers;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Room re-checks that run off the dispatch loop, and what arrives for their guilds meanwhile. A guild whose room is
/// being re-checked (a permission change, a gap, a lost stream, a host's re-authorization) is held: everything for it —
/// publications, refetch signals, joins, further re-checks — waits here in arrival order and is handled once the
/// re-check is done, so the guild's order guarantee holds; every other guild keeps flowing. Without it, a Redis restart
/// that changes every watched guild's epoch at once had the loop await one guild's re-check after another.
/// Called on the dispatch loop only; the re-check runs off it and posts a <see cref="RecheckDoneWork"/> back.
/// </summary>
internal sealed class RoomRechecks(AccessGate access, ChannelWriter<DispatchItem> loop)
{
    private readonly Dictionary<string, List<HeldItem>> _held = new(StringComparer.Ordinal);

    // Flushes that wait for the guilds held when they were asked (a flush promises that what was queued before it went out).
    private readonly List<(FlushWork Flush, HashSet<string> Guilds)> _flushes = [];

    /// <summary>Gets whether <paramref name="guildId"/> is held by a re-check.</summary>
    public bool IsHeld(string guildId) => _held.ContainsKey(guildId);

    /// <summary>
    /// Starts re-checking <paramref name="guildId"/>'s room (every member's, or only <paramref name="userId"/>'s) off the
    /// loop and holds the guild; <paramref name="first"/> is handled first when the re-check is done.
    /// </summary>
    public void Start(string guildId, string? userId, HeldItem first)
    {
        _held[guildId] = [first];
        var rechecking = access.ReauthorizeRoomAsync(guildId, userId); // the access version moves on now, on the loop
        _ = PostBackAsync(guildId, rechecking);
    }

    /// <summary>Keeps <paramref name="item"/> for <paramref name="guildId"/>, which is held, until its re-check is done.</summary>
    public void Defer(string guildId, HeldItem item) => _held[guildId].Add(item);

    /// <summary>The re-check of <paramref name="guildId"/> is done: releases the guild and gives back what waited, in order.</summary>
    public List<HeldItem> Release(string guildId) => _held.Remove(guildId, out var items) ? items : [];

    /// <summary>Completes <paramref name="flush"/> once every guild held now has been released (at once when none is).</summary>
    public void CompleteAfterHeld(FlushWork flush)
    {
        if (_held.Count == 0)
        {
            flush.Completion.TrySetResult();
            return;
        }

        _flushes.Add((flush, new HashSet<string>(_held.Keys, StringComparer.Ordinal)));
    }

    /// <summary>What waited for <paramref name="guildId"/> has been handled: flushes waiting for it complete unless it is held again.</summary>
    public void Settle(string guildId)
    {
        if (IsHeld(guildId) || _flushes.Count == 0)
        {
            return;
        }

        for (var i = _flushes.Count - 1; i >= 0; i--)
        {
            var (flush, guilds) = _flushes[i];
            if (guilds.Remove(guildId) && guilds.Count == 0)
            {
                flush.Completion.TrySetResult();
                _flushes.RemoveAt(i);
            }
        }
    }

    /// <summary>The loop ended: gives back everything still held (to be answered) and completes the waiting flushes.</summary>
    public List<HeldItem> DrainAll()
    {
        var items = _held.Values.SelectMany(held => held).ToList();
        _held.Clear();
        foreach (var (flush, _) in _flushes)
        {
            flush.Completion.TrySetResult();
        }

        _flushes.Clear();
        return items;
    }

    private async Task PostBackAsync(string guildId, Task rechecking)
    {
        await rechecking.ConfigureAwait(false); // never faults: a failed or timed-out re-check is logged and denies
        try
        {
            await loop.WriteAsync(DispatchItem.Of(new RecheckDoneWork(guildId)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // the server is stopping: what was held is answered by the loop's last drain
        }
    }
}

/// <summary>
/// Something for a held guild: a publication or a piece of work, in arrival order. <see cref="Rechecked"/> marks the item
/// that started the hold (its re-check is the one running): it is handled without starting another.
/// </summary>
internal readonly record struct HeldItem(Publication? Publication, DispatchWork? Work, bool Rechecked = false);
