namespace LiveUpdates.Internal.Dispatch;

/// <summary>
/// What the dispatcher needs to know about an event name, computed from the options once: the permission category
/// whose users receive it, and whether a newer event of the same name supersedes it (latest-value events).
/// </summary>
internal sealed class EventTraits
{
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _categoryByPlugin;
    private readonly string[] _latestValueSuffixes;

    public EventTraits(LiveUpdatesOptions options)
    {
        // Event plugin → permission category: a registered category of the same name, unless mapped otherwise.
        var categoryByPlugin = new Dictionary<string, string>(StringComparer.Ordinal);
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
                categoryByPlugin.Remove(plugin);
            }
        }

        _categoryByPlugin = categoryByPlugin.GetAlternateLookup<ReadOnlySpan<char>>();
        _latestValueSuffixes = [.. options.LatestValueActions.Select(a => ":" + a)];
    }

    /// <summary>Gets the category of <paramref name="eventName"/>, or <see langword="null"/> when every subscriber receives it.</summary>
    public string? CategoryOf(string eventName)
    {
        var plugin = eventName.AsSpan(0, eventName.IndexOf(':', StringComparison.Ordinal));
        return _categoryByPlugin.TryGetValue(plugin, out var category) ? category : null;
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
