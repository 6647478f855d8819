namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// What the dispatcher needs to know about an event name, computed from the options once: the permission category
/// whose users receive it, and whether a newer event of the same name supersedes it (latest-value events).
/// </summary>
internal sealed class EventTraits
{
    /// <summary>
    /// The category of an event whose plugin is in no registered category while a registry exists (closed by default):
    /// no user's category set holds it, so only users who see every category receive such events.
    /// </summary>
    public const string Uncategorized = "\0uncategorized";

    private readonly Dictionary<string, string?>.AlternateLookup<ReadOnlySpan<char>> _categoryByPlugin;
    private readonly string[] _latestValueSuffixes;
    private readonly string? _unmapped;

    public EventTraits(LiveUpdatesOptions options)
    {
        // Event plugin → permission category: a registered category of the same name, unless mapped otherwise.
        var categoryByPlugin = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var category in options.PermissionCategories.Keys)
        {
            categoryByPlugin[category] = category;
        }

        foreach (var (plugin, category) in options.EventCategories)
        {
            if (options.PermissionCategories.ContainsKey(category))
            {
                categoryByPlugin[plugin] = category;
            }
            else
            {
                categoryByPlugin.Remove(plugin); // refused at start-up by the options' validation
            }
        }

        // Protocol events reach every subscriber; other unmapped plugins only when the registry is empty or opened.
        categoryByPlugin.TryAdd(LiveEvents.Dashboard.Plugin, null); // null: no category, every subscriber
        _unmapped = options.PermissionCategories.Count > 0 && !options.DeliverUncategorizedEventsToEveryone ? Uncategorized : null;

        _categoryByPlugin = categoryByPlugin.GetAlternateLookup<ReadOnlySpan<char>>();
        _latestValueSuffixes = [.. options.LatestValueActions.Select(a => ":" + a)];
    }

    /// <summary>Gets the category of <paramref name="eventName"/>, or <see langword="null"/> when every subscriber receives it (see <see cref="Uncategorized"/>).</summary>
    public string? CategoryOf(string eventName)
    {
        var plugin = eventName.AsSpan(0, eventName.IndexOf(':', StringComparison.Ordinal));
        return _categoryByPlugin.TryGetValue(plugin, out var category) ? category : _unmapped;
    }

    public bool IsLatestValue(string eventName)
    {
        foreach (var suffix in _latestValueSuffixes)
        {
            if (eventName.EndsWith(suffix, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
