using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveUpdates.Mongo;
using LiveUpdates.Redis;

namespace LiveUpdates.Tests.Docs;

/// <summary>
/// docs/configuration.md against the options classes: each table marked <c>&lt;!-- options: Type --&gt;</c> lists every
/// public property of that type with its default (read from a fresh instance), and nothing that does not exist; every
/// public options class of the packages has its table.
/// </summary>
[TestFixture]
public sealed partial class ConfigurationReferenceTests
{
    private const string Page = "docs/configuration.md";

    private static readonly Assembly[] Packages =
    [
        typeof(LiveUpdatesOptions).Assembly,
        typeof(Microsoft.Extensions.DependencyInjection.LiveUpdatesServiceCollectionExtensions).Assembly,
        typeof(MongoPermissionStoreOptions).Assembly,
        typeof(RedisBrokerOptions).Assembly,
        typeof(Microsoft.Extensions.DependencyInjection.LiveUpdatesAspNetCoreBuilderExtensions).Assembly,
    ];

    private static IEnumerable<Type> OptionsTypes() =>
        Packages.SelectMany(a => a.GetExportedTypes())
            .Where(t => t.IsClass && !t.IsAbstract && t.Name.EndsWith("Options", StringComparison.Ordinal) && t.GetConstructor(Type.EmptyTypes) is not null)
            .OrderBy(t => t.FullName, StringComparer.Ordinal);

    [TestCaseSource(nameof(OptionsTypes))]
    public void EveryPublicOption_IsListedWithItsDefault(Type type)
    {
        var table = Tables().GetValueOrDefault(type.FullName!);
        Assert.That(table, Is.Not.Null, $"{Page} has no table marked '<!-- options: {type.FullName} -->'");

        var instance = Activator.CreateInstance(type);
        var failures = new List<string>();
        foreach (var property in Options(type))
        {
            if (!table!.TryGetValue(property.Name, out var documented))
            {
                failures.Add($"{property.Name}: not in the table");
                continue;
            }

            var actual = property.GetValue(instance);
            if (!Matches(actual, documented, out var expected))
            {
                failures.Add($"{property.Name}: the table says '{documented}', the default is {expected}");
            }
        }

        Assert.That(failures, Is.Empty, $"{Page}, {type.FullName}:\n" + string.Join("\n", failures));
    }

    [Test]
    public void EveryListedOption_Exists()
    {
        var tables = Tables();
        Assert.That(tables, Is.Not.Empty, $"no '<!-- options: … -->' table found in {Page}");
        var failures = new List<string>();
        foreach (var (typeName, rows) in tables)
        {
            var type = Packages.Select(a => a.GetType(typeName)).FirstOrDefault(t => t is not null);
            if (type is null)
            {
                failures.Add($"'{typeName}' is no public type of the packages");
                continue;
            }

            var names = Options(type).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            failures.AddRange(rows.Keys.Where(name => !names.Contains(name)).Select(name => $"{typeName}.{name} is listed but does not exist"));
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    private static IEnumerable<PropertyInfo> Options(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.GetMethod?.IsPublic == true && p.GetIndexParameters().Length == 0);

    /// <summary>Whether the documented default cell states <paramref name="value"/>, and how it would.</summary>
    private static bool Matches(object? value, string cell, out string expected)
    {
        switch (value)
        {
            case null:
                expected = "none: the cell starts with '—'";
                return cell.StartsWith('—');
            case string s:
                expected = $"`{s}`";
                return cell.StartsWith(expected, StringComparison.Ordinal);
            case bool b:
                expected = b ? "`true`" : "`false`";
                return cell.StartsWith(expected, StringComparison.Ordinal);
            case int or long:
                expected = $"`{Convert.ToString(value, CultureInfo.InvariantCulture)}`";
                return cell.StartsWith(expected, StringComparison.Ordinal);
            case TimeSpan t:
                expected = $"`{t.ToString("c", CultureInfo.InvariantCulture)}`";
                return cell.StartsWith(expected, StringComparison.Ordinal);
            case JsonSerializerOptions o:
                expected = o.PropertyNamingPolicy == JsonNamingPolicy.CamelCase && o.PropertyNameCaseInsensitive
                    ? "`JsonSerializerDefaults.Web`"
                    : "(options other than JsonSerializerDefaults.Web: teach this test to name them)";
                return cell.StartsWith(expected, StringComparison.Ordinal);
            case IDictionary { Count: 0 }:
            case ICollection { Count: 0 }:
                expected = "empty";
                return cell.StartsWith(expected, StringComparison.Ordinal);
            case IEnumerable<string> items:
                var list = items.ToList();
                expected = string.Join(", ", list.Select(i => $"`{i}`"));
                return list.Count > 0 && cell.StartsWith(expected, StringComparison.Ordinal)
                       || list.Count == 0 && cell.StartsWith("empty", StringComparison.Ordinal);
            default:
                expected = $"(a {value.GetType().Name}: teach this test how the docs state it)";
                return false;
        }
    }

    /// <summary>Type name → (option → default cell), from the tables marked in the page.</summary>
    private static Dictionary<string, Dictionary<string, string>> Tables()
    {
        var lines = DocFiles.Read(Page).Split('\n');
        var tables = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        for (var i = 0; i < lines.Length; i++)
        {
            var marker = OptionsMarker().Match(lines[i].Trim());
            if (!marker.Success)
            {
                continue;
            }

            var header = Cells(lines[i + 1]);
            var option = header.IndexOf("option");
            var defaults = header.IndexOf("default");
            Assert.That(option >= 0 && defaults >= 0, $"{Page}:{i + 2}: the table needs 'option' and 'default' columns");
            var rows = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var j = i + 3; j < lines.Length && lines[j].StartsWith('|'); j++)
            {
                var cells = Cells(lines[j]);
                var name = cells[option].Trim('`');
                Assert.That(rows.TryAdd(name, cells[defaults]), $"{Page}:{j + 1}: {name} is listed twice");
            }

            tables.Add(marker.Groups[1].Value, rows);
        }

        return tables;
    }

    /// <summary>The cells of a table row; a '|' inside backticks is text.</summary>
    private static List<string> Cells(string row)
    {
        var cells = new List<string>();
        var current = new System.Text.StringBuilder();
        var code = false;
        foreach (var c in row.Trim().Trim('|'))
        {
            if (c == '`')
            {
                code = !code;
            }

            if (c == '|' && !code)
            {
                cells.Add(current.ToString().Trim());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        cells.Add(current.ToString().Trim());
        return cells;
    }

    [GeneratedRegex(@"^<!--\s*options:\s*([A-Za-z0-9_.]+)\s*-->$")]
    private static partial Regex OptionsMarker();
}
