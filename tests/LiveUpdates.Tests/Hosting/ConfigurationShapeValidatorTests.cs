using LiveUpdates.Hosting.Internal;
using Microsoft.Extensions.Configuration;

namespace LiveUpdates.Tests.Hosting;

/// <summary>The configuration shapes the binder ignores silently, read from JSON as a user writes it.</summary>
[TestFixture]
public sealed class ConfigurationShapeValidatorTests
{
    [Test]
    public void PermissionCategoryWithASingleAction_IsReportedWithTheArrayToWrite()
    {
        var errors = Check("""{ "LiveUpdates": { "PermissionCategories": { "moderation": "moderation.manage_config" } } }""");

        Assert.That(errors, Has.Some.Contains("LiveUpdates:PermissionCategories:moderation is the single value 'moderation.manage_config', but it is a list")
            .And.Some.Contains("\"moderation\": [\"moderation.manage_config\"]"));
    }

    [Test]
    public void KeyFarFromEverySetting_PointsToTheTable_InsteadOfGuessing()
    {
        var errors = Check("""{ "LiveUpdates": { "Banana": 1 } }""");

        Assert.That(errors, Is.EqualTo(new[] { "LiveUpdates:Banana is not a LiveUpdates setting and is ignored; see the README's Configuration table for the settings (remove the key, or rename it)" }));
    }

    [Test]
    public void KeysDifferingOnlyInCase_AndListsWrittenAsArrays_AreFine()
    {
        var errors = Check("""{ "LiveUpdates": { "allowedorigins": [ "https://a.example" ], "idleTimeout": "00:01:00", "LatestValueActions": [ "x" ], "EventCategories": { "a": "b" } } }""");

        Assert.That(errors, Is.Empty);
    }

    [Test]
    public void TheWholeConfigurationPassedByMistake_IsNotReportedKeyByKey()
    {
        var root = new ConfigurationBuilder().AddJsonStream(Stream("""{ "Logging": { "LogLevel": { "Default": "Information" } }, "Port": 3002 }""")).Build();

        Assert.That(ConfigurationShapeValidator.Check(root), Is.Empty);
    }

    private static List<string> Check(string json) =>
        ConfigurationShapeValidator.Check(new ConfigurationBuilder().AddJsonStream(Stream(json)).Build().GetSection("LiveUpdates"));

    private static MemoryStream Stream(string json) => new(System.Text.Encoding.UTF8.GetBytes(json));
}
