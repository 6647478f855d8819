using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;

namespace LiveUpdates.Tests.Brokers;

/// <summary>
/// A test broker that behaves as a networked broker does — it answers and delivers asynchronously, from its own
/// threads, and only for guilds this instance subscribed to — under a script, with no server behind it: subscribes can
/// be held or failed, a read's answer held, deliveries held and released in another order of guilds, a publication lost
/// on its way to this instance and a loss signalled. The streams themselves (positions, history, epochs) are the
/// in-memory broker's, so the broker specification holds for it.
/// </summary>
/// <remarks>
/// It keeps the contract every asynchronous broker keeps (and the dispatcher relies on): publications of a guild are
/// delivered in stream order, and a read of a subscribed guild answers only once every publication up to the position
/// it reports has been handed to the handler (or lost on the way, as the script said).
/// </remarks>
internal sealed class ScriptedBroker(InMemoryBroker streams, BrokerCapabilities capabilities = BrokerCapabilities.None) : IBroker, IBrokerHandler
{
    private static readonly TimeSpan ContractTimeout = TimeSpan.FromSeconds(10);

    private readonly object _gate = new();
    private readonly Dictionary<string, int> _subscriptions = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _handled = new(StringComparer.Ordinal); // per guild: the last seq delivered or lost
    private readonly List<Publication> _undelivered = [];
    private readonly Dictionary<string, TaskCompletionSource> _subscribeGates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskCompletionSource> _answerGates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Exception> _subscribeFailures = new(StringComparer.Ordinal);
    private readonly HashSet<string> _loseNext = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _anyAnswerHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IBrokerHandler? _handler;
    private bool _holdingDeliveries;
    private bool _reverseGuilds;
    private bool _pumping;
    private int _subscribeCalls;
    private int _unsubscribeCalls;

    public BrokerCapabilities Capabilities { get; } = capabilities;

    /// <summary>Gets how many times the server called SubscribeAsync and UnsubscribeAsync.</summary>
    public (int Subscribes, int Unsubscribes) Calls
    {
        get
        {
            lock (_gate)
            {
                return (_subscribeCalls, _unsubscribeCalls);
            }
        }
    }

    /// <summary>Gets the number of local subscriptions the broker counts for <paramref name="guildId"/>.</summary>
    public int SubscriptionsOf(string guildId)
    {
        lock (_gate)
        {
            return _subscriptions.GetValueOrDefault(guildId);
        }
    }

    /// <summary>Gets the last sequence number of <paramref name="guildId"/> handed to the server (or lost on the way).</summary>
    public long DeliveredUpTo(string guildId) => Handled(guildId);

    /// <summary>Completes when a read answer is being held by <see cref="HoldAnswers"/>.</summary>
    public Task AnswerHeld => _anyAnswerHeld.Task;

    /// <summary>Subscribes to <paramref name="guildId"/> wait until <see cref="ReleaseSubscribes"/>.</summary>
    public void HoldSubscribes(string guildId)
    {
        lock (_gate)
        {
            _subscribeGates[guildId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseSubscribes(string guildId) => Take(_subscribeGates, guildId)?.TrySetResult();

    /// <summary>The next subscribe to <paramref name="guildId"/> fails with <paramref name="error"/> (after being counted, as a network failure would leave it).</summary>
    public void FailNextSubscribe(string guildId, Exception error)
    {
        lock (_gate)
        {
            _subscribeFailures[guildId] = error;
        }
    }

    /// <summary>Reads of <paramref name="guildId"/> compute their answer, then wait until <see cref="ReleaseAnswers"/> before returning it.</summary>
    public void HoldAnswers(string guildId)
    {
        lock (_gate)
        {
            _answerGates[guildId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseAnswers(string guildId) => Take(_answerGates, guildId)?.TrySetResult();

    /// <summary>Publications are kept back until <see cref="ReleaseDeliveries"/>.</summary>
    public void HoldDeliveries()
    {
        lock (_gate)
        {
            _holdingDeliveries = true;
        }
    }

    /// <summary>Delivers what was kept back; with <paramref name="reverseGuilds"/> the guilds take turns in the reverse order of their first publication (each guild's own order is kept: the contract).</summary>
    public void ReleaseDeliveries(bool reverseGuilds = false)
    {
        lock (_gate)
        {
            _holdingDeliveries = false;
            _reverseGuilds = reverseGuilds;
        }

        StartPump();
    }

    /// <summary>The next publication of <paramref name="guildId"/> never reaches this instance (a lost pub/sub message).</summary>
    public void LoseNext(string guildId)
    {
        lock (_gate)
        {
            _loseNext.Add(guildId);
        }
    }

    /// <summary>Tells the server, from the broker's own thread, that this instance lost <paramref name="guildId"/>'s publications up to <paramref name="position"/>.</summary>
    public Task SignalLostAsync(string guildId, StreamPosition position) => Task.Run(() => _handler?.OnStreamLost(guildId, position));

    public Task StartAsync(IBrokerHandler handler, CancellationToken cancellationToken)
    {
        _handler = handler;
        return streams.StartAsync(this, cancellationToken);
    }

    public async ValueTask<StreamPosition> PublishAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        var position = await streams.PublishAsync(message, cancellationToken); // numbered now, in call order
        StartPump();
        return position;
    }

    public async ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var answer = await streams.ReadSinceAsync(guildId, since, cancellationToken);
        bool subscribed;
        lock (_gate)
        {
            subscribed = _subscriptions.ContainsKey(guildId);
        }

        if (subscribed)
        {
            // The seam's contract: everything up to the answered position has reached the server before the answer.
            var deadline = DateTime.UtcNow + ContractTimeout;
            while (Handled(guildId) < answer.Current.Seq)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"ScriptedBroker: deliveries of {guildId} up to {answer.Current.Seq} never happened (held and never released?).");
                }

                await Task.Delay(1, cancellationToken);
            }
        }

        TaskCompletionSource? gate;
        lock (_gate)
        {
            gate = _answerGates.GetValueOrDefault(guildId);
        }

        if (gate is not null)
        {
            _anyAnswerHeld.TrySetResult();
            await gate.Task.WaitAsync(cancellationToken);
        }

        return answer;
    }

    public async ValueTask SubscribeAsync(string guildId, CancellationToken cancellationToken)
    {
        TaskCompletionSource? gate;
        Exception? failure;
        lock (_gate)
        {
            _subscribeCalls++;
            _subscriptions[guildId] = _subscriptions.GetValueOrDefault(guildId) + 1;
            gate = _subscribeGates.GetValueOrDefault(guildId);
            _subscribeFailures.Remove(guildId, out failure);
            if (!_handled.ContainsKey(guildId))
            {
                _handled[guildId] = long.MaxValue; // settled below, once the stream's position is known
            }
        }

        var current = (await streams.ReadSinceAsync(guildId, null, cancellationToken)).Current.Seq;
        await streams.SubscribeAsync(guildId, cancellationToken);
        lock (_gate)
        {
            if (_handled[guildId] == long.MaxValue)
            {
                _handled[guildId] = current; // deliveries start after what the stream held when subscribed
            }
        }

        await Task.Yield();
        if (gate is not null)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (failure is not null)
        {
            throw failure;
        }
    }

    public async ValueTask UnsubscribeAsync(string guildId, CancellationToken cancellationToken)
    {
        await Task.Yield();
        lock (_gate)
        {
            _unsubscribeCalls++;
            if (_subscriptions.TryGetValue(guildId, out var count))
            {
                if (count > 1)
                {
                    _subscriptions[guildId] = count - 1;
                }
                else
                {
                    _subscriptions.Remove(guildId);
                    _handled.Remove(guildId);
                }
            }
        }

        await streams.UnsubscribeAsync(guildId, cancellationToken);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await streams.StopAsync(cancellationToken);
        _handler = null;
    }

    // The in-memory streams hand every publication over here, under their lock, inside PublishAsync.
    void IBrokerHandler.OnPublication(Publication publication)
    {
        lock (_gate)
        {
            if (_subscriptions.ContainsKey(publication.GuildId))
            {
                _undelivered.Add(publication);
            }
        }
    }

    void IBrokerHandler.OnStreamLost(string guildId, StreamPosition position) => _handler?.OnStreamLost(guildId, position);

    private long Handled(string guildId)
    {
        lock (_gate)
        {
            return _handled.GetValueOrDefault(guildId, long.MaxValue);
        }
    }

    private void StartPump()
    {
        lock (_gate)
        {
            if (_pumping || _holdingDeliveries || _undelivered.Count == 0)
            {
                return;
            }

            _pumping = true;
        }

        _ = Task.Run(Pump);
    }

    /// <summary>Delivers from the broker's own thread, one publication at a time, each guild's in stream order.</summary>
    private void Pump()
    {
        while (true)
        {
            Publication next;
            bool lose;
            lock (_gate)
            {
                if (_holdingDeliveries || _undelivered.Count == 0)
                {
                    _pumping = false;
                    return;
                }

                var index = 0;
                if (_reverseGuilds)
                {
                    // The guild whose first waiting publication came last goes first.
                    var firstOf = _undelivered.Select((p, i) => (p.GuildId, i)).GroupBy(x => x.GuildId).Select(g => g.First().i);
                    index = firstOf.Max();
                }

                next = _undelivered[index];
                _undelivered.RemoveAt(index);
                lose = _loseNext.Remove(next.GuildId);
            }

            if (!lose)
            {
                _handler?.OnPublication(next);
            }

            lock (_gate)
            {
                if (_handled.ContainsKey(next.GuildId))
                {
                    _handled[next.GuildId] = next.Position.Seq;
                }
            }
        }
    }

    private TaskCompletionSource? Take(Dictionary<string, TaskCompletionSource> gates, string guildId)
    {
        lock (_gate)
        {
            gates.Remove(guildId, out var gate);
            return gate;
        }
    }
}
