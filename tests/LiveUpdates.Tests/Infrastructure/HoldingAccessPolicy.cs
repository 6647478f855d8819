using LiveUpdates.Security;

namespace LiveUpdates.Tests.Infrastructure;

/// <summary>
/// Every user may open <see cref="Guild"/> (and any guild asked for); <see cref="Hold"/> makes the access checks that
/// follow wait until <see cref="Release"/>: a way to hold a room re-check (off the dispatch loop) or a
/// subscription between its check and its join.
/// </summary>
internal sealed class HoldingAccessPolicy(string guild) : IGuildAccessPolicy
{
    private TaskCompletionSource? _gate;
    private TaskCompletionSource _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string Guild { get; } = guild;

    /// <summary>Completes when an access check is being held.</summary>
    public Task Held => _held.Task;

    public void Hold()
    {
        _held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    public void Release() => Interlocked.Exchange(ref _gate, null)?.TrySetResult();

    public ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IReadOnlyList<string>>([Guild]);

    public async ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _gate) is { } gate)
        {
            _held.TrySetResult();
            await gate.Task;
        }

        return GuildAccess.Full;
    }
}
