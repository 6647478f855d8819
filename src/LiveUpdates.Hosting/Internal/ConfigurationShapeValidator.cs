using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace LiveUpdates.Hosting.Internal;

/// <summary>
/// Checks the configuration section that <c>AddLiveUpdates(IConfiguration)</c> binds, for the mistakes the binder lets
/// through silently: a key that names no setting (a typo; the nearest setting is suggested), a single value where a
/// list is expected (the binder ignores it, so e.g. every origin stays allowed), and a time span written as a bare
/// number (the binder reads <c>"60"</c> as 60 days). Each failure names the key and the fix; the host fails at start-up.
/// </summary>
internal sealed class ConfigurationShapeValidator(IConfiguration configuration) : IValidateOptions<LiveUpdatesOptions>
{
    /// <summary>Sub-sections of <c>LiveUpdates</c> that the optional packages read (<c>LiveUpdates:Mongo</c>, <c>LiveUpdates:Redis</c>).</summary>
    private static readonly string[] PackageSections = ["Mongo", "Redis"];

    private static readonly Dictionary<string, PropertyInfo> Settings = typeof(LiveUpdatesOptions)
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .ToDictionary(p => p.Name, StringComparer.OrdinalIgnoreCase);

    public IConfiguration Configuration { get; } = configuration;

    public ValidateOptionsResult Validate(string? name, LiveUpdatesOptions options)
    {
        var errors = Check(Configuration);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static List<string> Check(IConfiguration configuration)
    {
        // A section knows its path (usually "LiveUpdates"); the root passed by mistake holds every other section too,
        // so unknown keys are only looked for in a section.
        var section = configuration as IConfigurationSection;
        var path = section?.Path is { Length: > 0 } p ? p : LiveUpdatesOptions.SectionName;
        var errors = new List<string>();
        foreach (var child in configuration.GetChildren())
        {
            if (!Settings.TryGetValue(child.Key, out var property))
            {
                if (section is not null && !PackageSections.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
                {
                    errors.Add(UnknownKey(path, child.Key));
                }

                continue;
            }

            var type = property.PropertyType;
            if (type == typeof(TimeSpan) && IsBareNumber(child.Value))
            {
                errors.Add($"{path}:{property.Name} is '{child.Value}', a bare number, which .NET reads as {child.Value!.Trim()} days; write a time span as [d.]hh:mm:ss, e.g. '00:01:00' for one minute or '00:00:30' for 30 seconds");
            }
            else if (IsList(type) && child.Value is not null)
            {
                errors.Add($"{path}:{property.Name} is the single value '{child.Value}', but it is a list and a single value is ignored; in JSON write \"{property.Name}\": [\"{child.Value}\"], as environment variables {path.Replace(":", "__", StringComparison.Ordinal)}__{property.Name}__0={child.Value}");
            }
            else if (IsDictionary(type) && child.Value is not null)
            {
                errors.Add($"{path}:{property.Name} is the single value '{child.Value}', but it is a map and a single value is ignored; in JSON write \"{property.Name}\": {{ \"<key>\": … }}");
            }
            else if (IsDictionaryOfLists(type))
            {
                foreach (var entry in child.GetChildren().Where(e => e.Value is not null))
                {
                    errors.Add($"{path}:{property.Name}:{entry.Key} is the single value '{entry.Value}', but it is a list and a single value is ignored; in JSON write \"{entry.Key}\": [\"{entry.Value}\"]");
                }
            }
        }

        return errors;
    }

    private static string UnknownKey(string path, string key)
    {
        var nearest = Settings.Keys
            .Select(k => (Key: k, Distance: Distance(key.ToUpperInvariant(), k.ToUpperInvariant())))
            .OrderBy(c => c.Distance)
            .First();
        var hint = nearest.Distance <= Math.Max(2, key.Length / 3)
            ? $"did you mean {nearest.Key}?"
            : "see the README's Configuration table for the settings";
        return $"{path}:{key} is not a LiveUpdates setting and is ignored; {hint} (remove the key, or rename it)";
    }

    private static bool IsBareNumber(string? value) =>
        value is not null && double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) && !value.Contains(':', StringComparison.Ordinal);

    private static bool IsList(Type type) =>
        type != typeof(string) && type.IsGenericType && type.GetInterfaces().Append(type).Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ICollection<>))
        && !IsDictionary(type);

    private static bool IsDictionary(Type type) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>);

    private static bool IsDictionaryOfLists(Type type) =>
        IsDictionary(type) && IsList(type.GetGenericArguments()[1]);

    /// <summary>Levenshtein distance: the edits between a misspelt key and a setting.</summary>
    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }
}
