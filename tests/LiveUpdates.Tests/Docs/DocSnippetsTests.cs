using System.Text.RegularExpressions;

namespace LiveUpdates.Tests.Docs;

/// <summary>
/// Every C# block a user reads is code that compiles: it is preceded by <c>&lt;!-- snippet: name --&gt;</c> and is, line for
/// line, the region <c>#region name</c> of tests/LiveUpdates.DocSnippets, which the solution builds with warnings as errors.
/// </summary>
[TestFixture]
public sealed partial class DocSnippetsTests
{
    private static readonly string SnippetsProject = Path.Combine(DocFiles.Root, "tests", "LiveUpdates.DocSnippets");

    private static IEnumerable<string> Pages() => DocFiles.Pages();

    [TestCaseSource(nameof(Pages))]
    public void EveryCSharpBlock_IsACompiledSnippet(string page)
    {
        var regions = Regions();
        var failures = new List<string>();
        foreach (var block in DocFiles.CodeBlocks(DocFiles.Read(page)).Where(b => IsCSharp(b.Info)))
        {
            var marker = SnippetMarker().Match(block.LineBefore);
            if (!marker.Success)
            {
                failures.Add($"{page}:{block.Line}: a C# block without '<!-- snippet: name -->' before it");
                continue;
            }

            var name = marker.Groups[1].Value;
            if (!regions.TryGetValue(name, out var region))
            {
                failures.Add($"{page}:{block.Line}: no '#region {name}' in tests/LiveUpdates.DocSnippets");
            }
            else if (region != block.Text)
            {
                failures.Add($"{page}:{block.Line}: the block differs from '#region {name}' at its line {FirstDifference(region, block.Text)}\n--- region:\n{region}\n--- page:\n{block.Text}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n\n", failures));
    }

    [Test]
    public void EverySnippetRegion_IsShownByAPage()
    {
        var used = DocFiles.Pages()
            .SelectMany(page => DocFiles.CodeBlocks(DocFiles.Read(page)))
            .Select(b => SnippetMarker().Match(b.LineBefore))
            .Where(m => m.Success)
            .Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);

        Assert.That(Regions().Keys.Where(name => !used.Contains(name)), Is.Empty, "regions no page shows (remove them or show them)");
    }

    [Test]
    public void Regions_AreFoundInTheSnippetsProject() =>
        Assert.That(Regions(), Has.Count.GreaterThanOrEqualTo(5), "the snippet regions were not read: the check above would pass vacuously");

    private static bool IsCSharp(string info) => info is "csharp" or "cs" or "c#" or "C#";

    private static Dictionary<string, string> Regions()
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(SnippetsProject, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                                 && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            var lines = File.ReadAllText(file).ReplaceLineEndings("\n").Split('\n');
            for (var i = 0; i < lines.Length; i++)
            {
                var start = RegionStart().Match(lines[i]);
                if (!start.Success)
                {
                    continue;
                }

                var end = Array.FindIndex(lines, i + 1, l => l.Trim() == "#endregion");
                Assert.That(end, Is.GreaterThan(i), $"{file}: '#region {start.Groups[1].Value}' has no #endregion");
                Assert.That(regions.TryAdd(start.Groups[1].Value, DocFiles.Normalize(lines[(i + 1)..end])), Is.True, $"two regions named '{start.Groups[1].Value}'");
                i = end;
            }
        }

        return regions;
    }

    private static int FirstDifference(string a, string b)
    {
        var x = a.Split('\n');
        var y = b.Split('\n');
        var i = 0;
        while (i < x.Length && i < y.Length && x[i] == y[i])
        {
            i++;
        }

        return i + 1;
    }

    [GeneratedRegex(@"^<!--\s*snippet:\s*([a-z0-9-]+)\s*-->$")]
    private static partial Regex SnippetMarker();

    [GeneratedRegex(@"^\s*#region\s+([a-z0-9-]+)\s*$")]
    private static partial Regex RegionStart();
}
