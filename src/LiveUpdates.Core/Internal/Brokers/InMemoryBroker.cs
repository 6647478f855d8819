using System.Buffers.Text;
using System.Security.Cryptography;
using LiveUpdates.Brokers;

namespace LiveUpdates.Internal.Brokers;

/// <summary>
/// The default broker: every guild's stream in this process's memory. Publishing numbers the publication under the
/// broker's lock and hands it to the handler before the lock is released, so the handler sees each guild's
/// publications in sequence order; every call completes synchronously.
/// </summary>
/// <remarks>
/// Memory follows activity: history entries expire by age even in guilds nobody publishes to any more (a sweep runs
/// every quarter of <c>HistoryMaxAge</c>, at most every 30 s), and a guild's stream is removed once it has had no
/// subscriber and no publication for <c>HistoryMaxAge</c>. A removed stream's sequence numbers must never be given
/// out again in the same epoch (a client holding one would "recover" across events it never saw), so once any stream
/// has been removed a new stream starts after the number of publications the broker has ever made, which is above
/// every number any stream of this broker has used.
/// </remarks>
internal sealed class InMemoryBroker : IBroker, IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, GuildStream> _streams = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _watchers = new(StringComparer.Ordinal);
    private readonly List<Publication> _scratch = [];
    private readonly int _capacity;
    private readonly TimeSpan _maxAge;
    private readonly TimeProvider _time;
    private IBrokerHandler? _handler;
    private ITimer? _sweep;
    private long _published;
    private long _removed;

    public InMemoryBroker(int historyCapacity, TimeSpan historyMaxAge, TimeProvider timeProvider)
    {
        _capacity = historyCapacity;
        _maxAge = historyMaxAge;
        _time = timeProvider;
        Epoch = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));
    }

    /// <inheritdoc />
    /// <remarks>Publications are handed to the handler under the broker's lock, inside <see cref="PublishAsync"/>.</remarks>
    public BrokerCapabilities Capabilities => BrokerCapabilities.InlineDelivery;

    /// <summary>Gets the epoch of every stream of this broker: it is new with every broker, i.e. with every server start.</summary>
    public string Epoch { get; }

    /// <summary>Gets how many guild streams the broker holds.</summary>
    public int StreamCount
    {
        get
        {
            lock (_gate)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Gets how many publications (events and gaps) the broker has made.</summary>
    public long Published
    {
        get
        {
            lock (_gate)
            {
                return _published;
            }
        }
    }

    public Task StartAsync(IBrokerHandler handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_gate)
        {
            _handler = handler;
            var interval = TimeSpan.FromTicks(Math.Clamp(_maxAge.Ticks / 4, TimeSpan.TicksPerMillisecond * 10, TimeSpan.TicksPerSecond * 30));
            _sweep ??= _time.CreateTimer(static s => ((InMemoryBroker)s!).Sweep(), this, interval, interval);
        }

        return Task.CompletedTask;
    }

    public ValueTask<StreamPosition> PublishAsync(BrokerMessage message, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var publication = GetOrCreateLocked(message.GuildId, now).Append(message, Epoch, now);
            _published++;
            _handler?.OnPublication(publication);
            return ValueTask.FromResult(publication.Position);
        }
    }

    public ValueTask<HistoryResult> ReadSinceAsync(string guildId, StreamPosition? since, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            // No stream: nothing was ever published to the guild, or its stream expired (then the reader was away
            // longer than the history is kept). A new stream starts at the number it would be given (see the remarks).
            if (!_streams.TryGetValue(guildId, out var stream))
            {
                return ValueTask.FromResult(HistoryResult.FromStream(new StreamPosition(_removed == 0 ? 0 : _published, Epoch), since, []));
            }

            var current = new StreamPosition(stream.LastSeq, Epoch);
            if (since is not { } from || !string.Equals(from.Epoch, Epoch, StringComparison.Ordinal))
            {
                return ValueTask.FromResult(HistoryResult.FromStream(current, since, []));
            }

            stream.Prune(_time.GetTimestamp(), _maxAge, _time);
            _scratch.Clear();
            stream.CollectAfter(from.Seq, _scratch);
            var result = HistoryResult.FromStream(current, since, _scratch.Count == 0 ? [] : [.. _scratch]);
            _scratch.Clear();
            return ValueTask.FromResult(result);
        }
    }

    public ValueTask SubscribeAsync(string guildId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _watchers[guildId] = _watchers.GetValueOrDefault(guildId) + 1;
            GetOrCreateLocked(guildId, _time.GetTimestamp());
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask UnsubscribeAsync(string guildId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_watchers.TryGetValue(guildId, out var count))
            {
                if (count > 1)
                {
                    _watchers[guildId] = count - 1;
                }
                else
                {
                    _watchers.Remove(guildId);
                    if (_streams.TryGetValue(guildId, out var stream))
                    {
                        stream.LastActivity = _time.GetTimestamp();
                    }
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        ITimer? sweep;
        lock (_gate)
        {
            _handler = null;
            sweep = _sweep;
            _sweep = null;
        }

        if (sweep is not null)
        {
            await sweep.DisposeAsync().ConfigureAwait(false);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _sweep?.Dispose();
            _sweep = null;
            _handler = null;
        }
    }

    /// <summary>Expires history by age in every stream and removes the streams that have been idle and unwatched for <c>HistoryMaxAge</c>.</summary>
    internal void Sweep()
    {
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            foreach (var (guildId, stream) in _streams)
            {
                stream.Prune(now, _maxAge, _time);
                if (stream.Count == 0 && !_watchers.ContainsKey(guildId) && _time.GetElapsedTime(stream.LastActivity, now) > _maxAge)
                {
                    _streams.Remove(guildId);
                    _removed++;
                }
            }

            if (_streams.Count == 0 && _removed > 0)
            {
                _streams.TrimExcess();
            }
        }
    }

    private GuildStream GetOrCreateLocked(string guildId, long now)
    {
        if (!_streams.TryGetValue(guildId, out var stream))
        {
            stream = new GuildStream(_capacity, _removed == 0 ? 0 : _published, now);
            _streams.Add(guildId, stream);
        }

        return stream;
    }
}
