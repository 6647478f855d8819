using LiveUpdates.Internal.Naming;
using LiveUpdates.Internal.Security;

namespace LiveUpdates.Security;

/// <summary>
/// The access policy of the bot's dashboard permission model: which guilds a user shares with the bot and their
/// roles come from the host's <see cref="IGuildMemberSource"/>, role overrides from an
/// <see cref="IDashboardPermissionStore"/>, and they are resolved over <see cref="LiveUpdatesOptions.PermissionCategories"/>
/// (owner, administrator default, <c>_deny_access</c>, action over category, highest role wins).
/// </summary>
/// <remarks>
/// <c>AddLiveUpdates()</c> uses this policy as soon as an <see cref="IGuildMemberSource"/> is registered. Without
/// dependency injection, pass one to the <see cref="WebSocketManager"/> constructor.
/// </remarks>
public sealed class DashboardAccessPolicy : IGuildAccessPolicy, IDependencyHealth
{
    private readonly IGuildMemberSource _members;
    private readonly IDashboardPermissionStore _store;
    private readonly LiveUpdatesOptions _options;
    private readonly bool _hasStore;

    /// <summary>Creates the policy.</summary>
    /// <param name="members">Answers from the bot's Discord cache: the guilds a user shares with the bot, and a member's roles and flags.</param>
    /// <param name="store">The roles' dashboard permission overrides; <see langword="null"/> for none (then guild owners and administrators see everything, other members nothing).</param>
    /// <param name="options">The server's options; their <see cref="LiveUpdatesOptions.PermissionCategories"/> is the registry of categories and actions.</param>
    public DashboardAccessPolicy(IGuildMemberSource members, IDashboardPermissionStore? store, LiveUpdatesOptions options)
    {
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(options);
        _members = members;
        _store = store ?? new EmptyPermissionStore();
        _hasStore = store is not null;
        _options = options;
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<string>> GetGuildsAsync(AuthenticatedUser user, CancellationToken cancellationToken)
    {
        var guilds = new List<string>();
        foreach (var guildId in await _members.GetGuildIdsAsync(user, cancellationToken).ConfigureAwait(false))
        {
            if (LiveNames.IsValidGuildId(guildId) && (await GetAccessAsync(user, guildId, cancellationToken).ConfigureAwait(false)).CanOpen)
            {
                guilds.Add(guildId);
            }
        }

        return guilds;
    }

    /// <inheritdoc/>
    public async ValueTask<GuildAccess> GetAccessAsync(AuthenticatedUser user, string guildId, CancellationToken cancellationToken)
    {
        var member = await _members.GetMemberAsync(guildId, user, cancellationToken).ConfigureAwait(false);
        if (member is null)
        {
            return GuildAccess.Refused("not-a-member", $"the member source ({_members.GetType().Name}) found no member: the user is not in the guild, or the bot does not share it");
        }

        var documents = member.IsOwner ? [] : await _store.GetPermissionsAsync(guildId, cancellationToken).ConfigureAwait(false);
        var access = DashboardPermissionResolver.Resolve(member, documents, _options.PermissionCategories);
        return access.CanOpen ? access : GuildAccess.Refused("no-allowed-action", NoActionReason(member));
    }

    /// <summary>Gets a value indicating whether a permission store was given (the start-up summary says so).</summary>
    internal bool HasStore => _hasStore;

    /// <summary>Gets the member source's type name, for the start-up summary.</summary>
    internal string MemberSourceName => _members.GetType().Name;

    /// <summary>Gets the permission store's type name, for the start-up summary.</summary>
    internal string StoreName => _store.GetType().Name;

    private string NoActionReason(GuildMember member)
    {
        var who = member.IsAdministrator
            ? "an administrator, but _deny_access on their highest role that sets it strips the administrator default"
            : "neither the owner nor an administrator";
        var overrides = _hasStore
            ? $"and no override of their {member.Roles.Count} role(s) in the permission store allows a registered action"
            : "and no permission store is registered, so no role override can allow one (add .AddMongoPermissionStore() or an IDashboardPermissionStore)";
        return $"the permission model allows no dashboard action: the member is {who}, {overrides}";
    }

    /// <inheritdoc/>
    public void Invalidate(string guildId) => _store.Invalidate(guildId);

    /// <summary>Reports the permission store's health when the store gives one (MongoDB does); otherwise available.</summary>
    /// <returns>The store's report.</returns>
    public DependencyHealth GetHealth() => (_store as IDependencyHealth)?.GetHealth() ?? new DependencyHealth(true, "The permission store reports no health.");
}
