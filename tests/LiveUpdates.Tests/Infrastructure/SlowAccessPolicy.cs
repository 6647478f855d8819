using LiveUpdates.Security;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// Every user may open every guild in <c>guilds</c>; each access read takes <see cref="Delay"/> (a permission store that
/// answers slowly), and <see cref="Hold"/> makes the reads of one guild wait until <see cref="Release"/>.
/// </summary>
internal sealed class SlowAccessPolicy(IReadOnlyList<string> guilds) : IGuildAccessPolicy
{
    private readonly object _gate = new();
    private readonly Dictionary<string, TaskCompletionSource> _held = new(StringComparer.Ordinal);
    private int _reads;

    /// <summary>Gets or sets how long each access read takes.</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>Gets how many access reads were made.</summary>
    public int Reads => Volatile.Read(ref _reads);

    public void Hold(string guildId)
    {
        lock (_gate)
        {
            _held[guildId] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Release(string guildId)
    {
        TaskCompletionSource? held;
        lock (_gate)
        {
            _held.Remove(guildId, out held);
        }

        held?.TrySetResult();
    }

    public ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken) => ValueTask.FromResult(guilds);

    public async ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _reads);
        TaskCompletionSource? held;
        lock (_gate)
        {
            held = _held.GetValueOrDefault(guildId);
        }

        if (held is not null)
        {
            await held.Task.WaitAsync(cancellationToken);
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        return GuildAccess.Full;
    }
}
