using System.Text.RegularExpressions;

namespace LiveUpdates.Tests.Docs;

/// <summary>
/// What DocFX does not check: the README's and the package readmes' links (they are not part of the site), that a
/// NuGet readme has no relative link (nuget.org resolves none), and that no page sends the reader to an issue number.
/// </summary>
[TestFixture]
public sealed partial class DocLinksTests
{
    private static IEnumerable<string> Pages() => DocFiles.Pages();

    [TestCaseSource(nameof(Pages))]
    public void EveryRelativeLink_PointsAtAFileOfTheRepository(string page)
    {
        var directory = Path.GetDirectoryName(Path.Combine(DocFiles.Root, page))!;
        var broken = Links(page)
            .Where(IsRelative)
            .Select(link => link.Split('#')[0])
            .Where(path => path.Length > 0 && !File.Exists(Path.Combine(directory, path)) && !Directory.Exists(Path.Combine(directory, path)))
            .ToList();

        Assert.That(broken, Is.Empty, $"{page}: links to files that do not exist");
    }

    [TestCaseSource(nameof(PackageReadmes))]
    public void PackageReadme_HasNoRelativeLink(string page) =>
        Assert.That(Links(page).Where(IsRelative), Is.Empty, $"{page} is shown on nuget.org, which resolves no relative link: name the page instead");

    [TestCaseSource(nameof(Pages))]
    public void Page_NamesNoIssueNumber(string page) =>
        Assert.That(IssueReference().Matches(DocFiles.Read(page)).Select(m => m.Value), Is.Empty, $"{page}: the reader cannot open our issues; say what the issue said");

    [Test]
    public void EveryPage_IsInTheSiteTableOfContents()
    {
        var toc = File.ReadAllText(Path.Combine(DocFiles.Root, "docs", "toc.yml"));
        var listed = TocHref().Matches(toc).Select(m => m.Groups[1].Value.Trim()).ToHashSet(StringComparer.Ordinal);
        var pages = Directory.EnumerateFiles(Path.Combine(DocFiles.Root, "docs"), "*.md").Select(Path.GetFileName).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(pages.Where(p => !listed.Contains(p!)), Is.Empty, "pages a reader of the site cannot reach from its menu (docs/toc.yml)");
            Assert.That(listed.Where(h => !h.EndsWith('/') && !File.Exists(Path.Combine(DocFiles.Root, "docs", h))), Is.Empty, "docs/toc.yml lists pages that do not exist");
        });
    }

    private static IEnumerable<string> PackageReadmes() => DocFiles.Pages().Where(p => p.EndsWith("/PACKAGE.md", StringComparison.Ordinal));

    private static IEnumerable<string> Links(string page)
    {
        // Code blocks and code spans are not links.
        var text = CodeSpan().Replace(FencedBlock().Replace(DocFiles.Read(page), ""), "");
        return Link().Matches(text).Select(m => m.Groups[1].Value);
    }

    private static bool IsRelative(string link) =>
        !link.StartsWith('#') && !Uri.TryCreate(link, UriKind.Absolute, out _) && !link.StartsWith("mailto:", StringComparison.Ordinal);

    [GeneratedRegex(@"\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)")]
    private static partial Regex Link();

    [GeneratedRegex(@"(?ms)^\s*```.*?^\s*```")]
    private static partial Regex FencedBlock();

    [GeneratedRegex(@"`[^`\n]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"(?m)^\s*href:\s*(\S+)\s*$")]
    private static partial Regex TocHref();

    [GeneratedRegex(@"(?i)\bissues?[ -]#?\d+\b|\(#\d+\)")]
    private static partial Regex IssueReference();
}
