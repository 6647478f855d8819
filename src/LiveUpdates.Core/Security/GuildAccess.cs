namespace LiveUpdates.Security;

/// <summary>What one user may see of one guild: nothing, everything, or the events of some permission categories.</summary>
/// <remarks>Events of plugins that map to no registered category reach every subscriber, whatever the access.</remarks>
public sealed class GuildAccess
{
    private readonly HashSet<string>? _categories;

    private GuildAccess(bool canOpen, HashSet<string>? categories, AccessRefusal? refusal = null)
    {
        CanOpen = canOpen;
        _categories = categories;
        Refusal = refusal;
    }

    /// <summary>Gets the access of a user who may not open the guild.</summary>
    public static GuildAccess None { get; } = new(false, []);

    /// <summary>Gets the access of a user who sees every category (the guild's owner, or the token-claim policy).</summary>
    public static GuildAccess Full { get; } = new(true, null);

    /// <summary>Gets a value indicating whether the user may subscribe to the guild.</summary>
    public bool CanOpen { get; }

    /// <summary>Gets, for a refusal by a built-in policy, the rule that refused and why (for the server's log); otherwise <see langword="null"/>.</summary>
    internal AccessRefusal? Refusal { get; }

    /// <summary>Gets the categories the user sees, or <see langword="null"/> for all of them.</summary>
    public IReadOnlyCollection<string>? Categories => _categories;

    /// <summary>Creates the access of a user who sees exactly <paramref name="categories"/>; with none, the same as <see cref="None"/>.</summary>
    /// <param name="categories">The permission categories (e.g. <c>moderation</c>) the user may see.</param>
    /// <returns>The access.</returns>
    public static GuildAccess ForCategories(IEnumerable<string> categories)
    {
        ArgumentNullException.ThrowIfNull(categories);
        var set = new HashSet<string>(categories, StringComparer.Ordinal);
        return set.Count == 0 ? None : new GuildAccess(true, set);
    }

    /// <summary>The access of a user a built-in policy refused, with the rule and the reason the log gives.</summary>
    internal static GuildAccess Refused(string rule, string reason) => new(false, [], new AccessRefusal(rule, reason));

    /// <summary>Decides whether an event of <paramref name="category"/> reaches the user.</summary>
    /// <param name="category">The event's category, or <see langword="null"/> for an event of a plugin with no registered category.</param>
    /// <returns><see langword="true"/> when the user receives it.</returns>
    public bool Allows(string? category) =>
        category is null || (CanOpen && (_categories is null || _categories.Contains(category)));
}

/// <summary>Why a built-in policy refused a guild: the rule (a constant, which also keys the log's rate limit) and the reason in words.</summary>
internal sealed record AccessRefusal(string Rule, string Reason);
