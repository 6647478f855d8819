using System.Text.RegularExpressions;

namespace LiveUpdates.Tests.Docs;

/// <summary>The Markdown a user reads: the README, the pages of docs/, the package readmes (NuGet and npm).</summary>
internal static partial class DocFiles
{
    public static string Root { get; } = FindRoot();

    /// <summary>Every page whose code and links the tests check, relative to the repository root.</summary>
    public static IEnumerable<string> Pages()
    {
        yield return "README.md";
        foreach (var page in Directory.EnumerateFiles(Path.Combine(Root, "docs"), "*.md").Order(StringComparer.Ordinal))
        {
            yield return Relative(page);
        }

        foreach (var readme in Directory.EnumerateFiles(Path.Combine(Root, "src"), "PACKAGE.md", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            yield return Relative(readme);
        }

        yield return "clients/js/README.md";
    }

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath)).ReplaceLineEndings("\n");

    /// <summary>The fenced code blocks of a Markdown file, with the info string, the text (dedented) and the line before.</summary>
    public static IReadOnlyList<CodeBlock> CodeBlocks(string markdown)
    {
        var lines = markdown.Split('\n');
        var blocks = new List<CodeBlock>();
        for (var i = 0; i < lines.Length; i++)
        {
            var open = Fence().Match(lines[i]);
            if (!open.Success)
            {
                continue;
            }

            var indent = open.Groups["indent"].Value.Length;
            var fence = open.Groups["fence"].Value;
            var info = open.Groups["info"].Value.Trim();
            var body = new List<string>();
            var j = i + 1;
            for (; j < lines.Length && !lines[j].TrimStart().StartsWith(fence, StringComparison.Ordinal); j++)
            {
                body.Add(lines[j].Length >= indent && string.IsNullOrWhiteSpace(lines[j][..indent]) ? lines[j][indent..] : lines[j].TrimStart());
            }

            var before = i - 1;
            while (before >= 0 && string.IsNullOrWhiteSpace(lines[before]))
            {
                before--;
            }

            blocks.Add(new CodeBlock(info, Normalize(body), i + 1, before >= 0 ? lines[before].Trim() : ""));
            i = j;
        }

        return blocks;
    }

    /// <summary>Trailing spaces, surrounding blank lines and the common indentation do not count.</summary>
    public static string Normalize(IEnumerable<string> lines)
    {
        var list = lines.Select(l => l.TrimEnd()).ToList();
        while (list.Count > 0 && list[0].Length == 0)
        {
            list.RemoveAt(0);
        }

        while (list.Count > 0 && list[^1].Length == 0)
        {
            list.RemoveAt(list.Count - 1);
        }

        var indent = list.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', list.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    private static string Relative(string path) => Path.GetRelativePath(Root, path).Replace('\\', '/');

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("LiveUpdates.sln not found above the test directory.");
    }

    [GeneratedRegex(@"^(?<indent>\s*)(?<fence>```+|~~~+)(?<info>.*)$")]
    private static partial Regex Fence();
}

internal sealed record CodeBlock(string Info, string Text, int Line, string LineBefore);
