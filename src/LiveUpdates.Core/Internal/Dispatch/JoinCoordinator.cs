using System.Threading.Channels;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Delivery;
using LiveUpdates.Internal.Protocol;

namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// Completes subscriptions so that nothing is lost or repeated at the seam between replay and live: the history read,
/// the replay and the room join happen between two fan-outs. With a broker that delivers inline and answers at once
/// this is one step on the loop; otherwise the broker's answer is awaited off the loop, while the loop records what it
/// fans out to the guild meanwhile (the in-flight table), and the join completes on the loop when the answer is back.
/// Called on the dispatch loop only; the wait for the broker's answer runs off it and posts back a <see cref="JoinReadyWork"/>.
/// </summary>
internal sealed class JoinCoordinator(
    IBroker broker,
    bool inlineDelivery,
    BrokerWatches watches,
    AccessGate access,
    PublicationFrames frames,
    LiveUpdatesMetrics metrics,
    ChannelWriter<DispatchItem> loop)
{
    // Joins waiting for the broker's answer, per guild, with what was fanned out to the guild meanwhile.
    private readonly Dictionary<string, List<JoinInFlight>> _inFlight = new(StringComparer.Ordinal);

    /// <summary>Gets whether a join of <paramref name="guildId"/> waits for the broker.</summary>
    public bool IsJoining(string guildId) => _inFlight.ContainsKey(guildId);

    /// <summary>Something was fanned out to a guild: joins of it waiting for the broker get it with their replay (see <see cref="CompleteAsync"/>).</summary>
    public void Record(string guildId, StreamPosition position, OutboundFrame frame, bool isRefetch)
    {
        if (_inFlight.TryGetValue(guildId, out var joining))
        {
            foreach (var flight in joining)
            {
                flight.Missed.Add((position, frame, isRefetch));
            }
        }
    }

    /// <summary>Starts a subscription: re-checks its access if it may be stale, then completes it at once or asks the broker.</summary>
    public async ValueTask StartAsync(JoinWork join)
    {
        try
        {
            var guildId = join.GuildId;
            var current = join.Subscriber.User;
            if (current is not null && !ReferenceEquals(current, join.User) && string.Equals(current.UserId, join.User.UserId, StringComparison.Ordinal))
            {
                // The same user renewed the session meanwhile: the subscription is checked against the new session.
                join.User = current;
                await access.RecheckAsync(join).ConfigureAwait(false);
            }
            else if (join.AccessVersion != access.Version)
            {
                // Permissions changed between the access check and now: check again, or a revocation
                // that ran before this client joined the room would miss it.
                await access.RecheckAsync(join).ConfigureAwait(false);
            }

            if (!join.Access.CanOpen)
            {
                join.Subscriber.RefuseJoin(guildId, join.Access);
                join.Completion.TrySetResult(false);
                return;
            }

            var subscribing = watches.Watch(guildId);
            if (subscribing.IsCompletedSuccessfully)
            {
                var reading = broker.ReadSinceAsync(guildId, join.Since, CancellationToken.None);

                // Only a broker that delivers inline may be answered at once: another may have publications up to the
                // answered position still queued here, which must reach the room before the client joins it.
                if (reading.IsCompletedSuccessfully && inlineDelivery)
                {
                    Complete(join, reading.Result, null);
                    return;
                }

                Begin(join, subscribing, reading.AsTask());
                return;
            }

            Begin(join, subscribing, null);
        }
        catch (Exception ex)
        {
            join.Completion.TrySetException(ex);
        }
    }

    /// <summary>The broker answered a join (<see cref="JoinReadyWork"/>): re-check if needed, merge what went out meanwhile, complete.</summary>
    public async ValueTask CompleteAsync(JoinInFlight flight)
    {
        var join = flight.Join;
        var guildId = join.GuildId;
        if (_inFlight.TryGetValue(guildId, out var list))
        {
            list.Remove(flight);
            if (list.Count == 0)
            {
                _inFlight.Remove(guildId);
            }
        }

        if (flight.History is not { } history)
        {
            // A failed subscription is released like any unused one (balanced in the broker's count), so that the next
            // subscriber asks the broker again.
            join.Completion.TrySetException(flight.Error ?? new InvalidOperationException("The broker gave no answer."));
            watches.ReleaseIfUnused(guildId);
            return;
        }

        // Permissions changed, or the session was renewed, while the answer was on its way: check again.
        var current = join.Subscriber.User;
        if (flight.AccessVersion != access.Version ||
            (current is not null && !ReferenceEquals(current, join.User) && string.Equals(current.UserId, join.User.UserId, StringComparison.Ordinal)))
        {
            if (current is not null && string.Equals(current.UserId, join.User.UserId, StringComparison.Ordinal))
            {
                join.User = current; // renewed by the same user; another user's session is refused by CompleteJoin
            }

            await access.RecheckAsync(join).ConfigureAwait(false);
            if (!join.Access.CanOpen)
            {
                join.Subscriber.RefuseJoin(guildId, join.Access);
                join.Completion.TrySetResult(false);
                watches.ReleaseIfUnused(guildId);
                return;
            }
        }

        // Fanned out while the answer was on its way: the events after the answered position (the client joins
        // the room only now), a refetch signal, and after a refetch for another epoch everything that followed it.
        List<OutboundFrame>? missed = null;
        var afterReset = false;
        foreach (var (position, frame, isRefetch) in flight.Missed)
        {
            var sameEpoch = string.Equals(position.Epoch, history.Current.Epoch, StringComparison.Ordinal);
            if ((sameEpoch && position.Seq > history.Current.Seq) || (isRefetch && !sameEpoch) || afterReset)
            {
                afterReset |= isRefetch && !sameEpoch;
                (missed ??= []).Add(frame);
            }
        }

        Complete(join, history, missed);
    }

    /// <summary>
    /// Asks the broker off the loop, so a slow or unreachable broker never holds up other guilds: the broker hands every
    /// publication up to the position it answers with to the loop before it answers, so nothing falls between the two.
    /// </summary>
    private void Begin(JoinWork join, Task subscribing, Task<HistoryResult>? reading)
    {
        var flight = new JoinInFlight(join, access.Version);
        if (!_inFlight.TryGetValue(join.GuildId, out var list))
        {
            _inFlight[join.GuildId] = list = [];
        }

        list.Add(flight);
        _ = AwaitAnswerAsync(flight, subscribing, reading);
    }

    /// <summary>Off the loop: waits for the subscription and the history read, then posts the join back to the loop.</summary>
    private async Task AwaitAnswerAsync(JoinInFlight flight, Task subscribing, Task<HistoryResult>? reading)
    {
        var join = flight.Join;
        try
        {
            await subscribing.ConfigureAwait(false);
            flight.History = await (reading ?? broker.ReadSinceAsync(join.GuildId, join.Since, CancellationToken.None).AsTask()).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            flight.Error = ex;
        }

        try
        {
            await loop.WriteAsync(DispatchItem.Of(new JoinReadyWork(flight)), CancellationToken.None).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            join.Completion.TrySetResult(false); // the server is stopping
        }
    }

    /// <summary>Replays the history (and what went out meanwhile) and joins the room, all before the next fan-out.</summary>
    private void Complete(JoinWork join, HistoryResult history, List<OutboundFrame>? missed)
    {
        var guildId = join.GuildId;
        if (history.Recovered is { } recovered)
        {
            metrics.Recoveries.Add(1, new KeyValuePair<string, object?>("outcome", recovered ? "recovered" : "refetch"));
        }

        OutboundFrame[] replay;
        if (missed is null)
        {
            replay = history.Publications.Count == 0 ? [] : history.Publications.Select(frames.FrameOf).ToArray();
        }
        else
        {
            replay = [.. history.Publications.Select(frames.FrameOf), .. missed];
        }

        var subscribed = ServerMessages.Subscribed(guildId, history.Current.Epoch, history.Current.Seq, history.Recovered);
        var joined = join.Subscriber.CompleteJoin(join.User, join.Access, guildId, subscribed, replay);
        join.Completion.TrySetResult(joined);
        if (!joined)
        {
            watches.ReleaseIfUnused(guildId);
        }
    }
}
