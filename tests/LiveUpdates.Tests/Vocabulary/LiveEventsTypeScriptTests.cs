using LiveUpdates.Internal.Naming;
using LiveUpdates.SampleHost.Plugins;

namespace LiveUpdates.Tests.Vocabulary;

/// <summary>
/// The dashboard's TypeScript view of the events (<c>clients/js/live-events.js</c> and <c>.d.ts</c>) is generated
/// from the C# and committed; these tests regenerate it and fail when the committed files have drifted.
/// </summary>
[TestFixture]
public sealed class LiveEventsTypeScriptTests
{
    [Test]
    public void CommittedDeclaration_MatchesLiveEventsAndPayloadRecords() =>
        AssertCommitted(TypeScriptVocabulary.DeclarationFile, TypeScriptVocabulary.GenerateDeclaration());

    [Test]
    public void CommittedModule_MatchesLiveEvents() =>
        AssertCommitted(TypeScriptVocabulary.ModuleFile, TypeScriptVocabulary.GenerateModule());

    [Test]
    public void Declaration_NamesEveryEventOfEveryPlugin()
    {
        var declaration = TypeScriptVocabulary.GenerateDeclaration();
        var plugins = TypeScriptVocabulary.Plugins();

        Assert.That(plugins, Has.Count.EqualTo(13));
        Assert.That(plugins.Sum(p => p.Events.Count), Is.EqualTo(48));
        Assert.Multiple(() =>
        {
            foreach (var (_, _, events) in plugins)
            {
                foreach (var field in events)
                {
                    var name = (string)field.GetValue(null)!;
                    Assert.That(declaration, Does.Contain($"  | \"{name}\""), $"{name} in LiveEventName");
                    Assert.That(declaration, Does.Contain($"readonly {field.Name}: \"{name}\";"), $"{name} in LiveEvents");
                }
            }
        });
    }

    [Test]
    public void Declaration_CarriesTheXmlDocsAndThePayloadShapes()
    {
        var declaration = TypeScriptVocabulary.GenerateDeclaration();

        Assert.Multiple(() =>
        {
            Assert.That(declaration, Does.Contain("/** Raised when a rule is deleted. Payload: the deleted rule's id. */\n    readonly RuleDeleted: \"moderation:rule_deleted\";"));
            Assert.That(declaration, Does.Contain("\"moderation:rule_created\": RuleCreated;"));
            Assert.That(declaration, Does.Contain("\"moderation:preset_created\": unknown;"));
            Assert.That(declaration, Does.Contain("export interface ModerationRule {\n  id: string;\n  name: string;\n  type: string;\n  pattern: string | null;"));
            Assert.That(declaration, Does.Contain("  changes: string[];"));
            Assert.That(declaration, Does.Contain("  expiresAt: string | null;"));
            Assert.That(declaration, Does.Contain("  config: Record<string, unknown>;"));
        });
    }

    [Test]
    public void EveryPayloadRecord_NamesAKnownEvent()
    {
        var known = TypeScriptVocabulary.Plugins().SelectMany(p => p.Events).Select(f => (string)f.GetValue(null)!).ToHashSet();
        var payloads = TypeScriptVocabulary.Payloads();

        Assert.That(payloads, Is.Not.Empty);
        foreach (var (eventName, type) in payloads)
        {
            Assert.That(known, Does.Contain(eventName), $"[{nameof(LiveEventPayloadAttribute)}] on {type.Name}");
            Assert.That(LiveNames.IsValidEventName(eventName), Is.True);
        }
    }

    private static void AssertCommitted(string relativePath, string generated)
    {
        var path = Path.Combine(RepositoryRoot(), relativePath);
        if (Environment.GetEnvironmentVariable(TypeScriptVocabulary.UpdateVariable) == "1")
        {
            File.WriteAllText(path, generated);
            TestContext.Progress.WriteLine($"Wrote {path}");
            return;
        }

        var committed = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";
        if (committed == generated)
        {
            return;
        }

        var committedLines = committed.Split('\n');
        var generatedLines = generated.Split('\n');
        var first = Enumerable.Range(0, Math.Max(committedLines.Length, generatedLines.Length))
            .First(i => i >= committedLines.Length || i >= generatedLines.Length || committedLines[i] != generatedLines[i]);
        Assert.Fail($"""
            {relativePath} is out of date with the C# it is generated from (LiveEvents, [LiveEventPayload] records).
            First difference at line {first + 1}:
              committed: {(first < committedLines.Length ? committedLines[first] : "<end of file>")}
              generated: {(first < generatedLines.Length ? generatedLines[first] : "<end of file>")}
            To update it, run from the repository root:
              {TypeScriptVocabulary.UpdateVariable}=1 dotnet test tests/LiveUpdates.Tests --filter LiveEventsTypeScriptTests
            and commit the result.
            """);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("LiveUpdates.sln not found above the test directory.");
    }
}
