using LiveUpdates.Internal.Naming;

namespace LiveUpdates.Tests.Unit;

[TestFixture]
public sealed class LiveNamesTests
{
    [TestCase("1")]
    [TestCase("123456789012345678")]
    [TestCase("18446744073709551615")]
    public void IsValidGuildId_Snowflakes_True(string id) => Assert.That(LiveNames.IsValidGuildId(id), Is.True);

    [TestCase(null)]
    [TestCase("")]
    [TestCase("123456789012345678901")]
    [TestCase("12a")]
    [TestCase(" 123")]
    [TestCase("-1")]
    [TestCase("١٢٣")]
    public void IsValidGuildId_Others_False(string? id) => Assert.That(LiveNames.IsValidGuildId(id), Is.False);

    [TestCase("moderation:config_updated")]
    [TestCase("attachment-blocker:config_updated")]
    [TestCase("vc-transcription:config_updated")]
    [TestCase("a:b")]
    [TestCase("plugin2:action_3")]
    public void IsValidEventName_PluginColonAction_True(string name) => Assert.That(LiveNames.IsValidEventName(name), Is.True);

    [TestCase(null)]
    [TestCase("")]
    [TestCase("moderation")]
    [TestCase(":config_updated")]
    [TestCase("moderation:")]
    [TestCase("Moderation:config_updated")]
    [TestCase("moderation:config-updated")]
    [TestCase("mod_eration:config_updated")]
    [TestCase("moderation:config_updated:extra")]
    [TestCase("moderation :config_updated")]
    public void IsValidEventName_Others_False(string? name) => Assert.That(LiveNames.IsValidEventName(name), Is.False);

    [Test]
    public void IsValidEventName_TooLongParts_False()
    {
        Assert.Multiple(() =>
        {
            Assert.That(LiveNames.IsValidEventName(new string('a', 33) + ":x"), Is.False);
            Assert.That(LiveNames.IsValidEventName("a:" + new string('x', 65)), Is.False);
            Assert.That(LiveNames.IsValidEventName(new string('a', 32) + ":" + new string('x', 64)), Is.True);
        });
    }

    [Test]
    public void GuildIdFromRoom_GuildRoom_ReturnsId() =>
        Assert.That(LiveNames.GuildIdFromRoom("guild:123"), Is.EqualTo("123"));

    [TestCase("123")]
    [TestCase("guild:")]
    [TestCase("guild:abc")]
    [TestCase("room:123")]
    [TestCase("GUILD:123")]
    public void GuildIdFromRoom_Other_ThrowsArgumentException(string room)
    {
        var ex = Assert.Throws<ArgumentException>(() => LiveNames.GuildIdFromRoom(room));
        Assert.That(ex!.Message, Does.Contain("guild:<guildId>"));
    }

    [Test]
    public void EveryLiveEventsConstant_IsAValidEventName_OfItsPlugin()
    {
        var groups = typeof(LiveEvents).GetNestedTypes();
        Assert.That(groups, Has.Length.EqualTo(13), "one group per plugin of the seed's taxonomy");
        var count = 0;
        foreach (var group in groups)
        {
            var plugin = (string)group.GetField("Plugin")!.GetValue(null)!;
            foreach (var field in group.GetFields().Where(f => f.Name != "Plugin"))
            {
                var name = (string)field.GetValue(null)!;
                Assert.That(LiveNames.IsValidEventName(name), Is.True, name);
                Assert.That(name, Does.StartWith(plugin + ":"), $"{group.Name}.{field.Name}");
                count++;
            }
        }

        Assert.That(count, Is.EqualTo(48), "every event of the seed's section 4.1, and dashboard:member_access_updated");
    }
}
