using LiveUpdates.Internal.Security;
using LiveUpdates.Security;
using static LiveUpdates.Tests.Infrastructure.Perm;

namespace LiveUpdates.Tests.Unit;

/// <summary>Every rule of the dashboard permission model, one table row each.</summary>
[TestFixture]
public sealed class DashboardPermissionResolverTests
{
    private const string G = "1";

    private static readonly Dictionary<string, List<string>> Registry = new(StringComparer.Ordinal)
    {
        ["moderation"] = ["moderation.manage_config", "moderation.view_infractions"],
        ["minecraft"] = ["minecraft.manage_config"],
        ["tickets"] = ["tickets.view"],
    };

    private static IEnumerable<TestCaseData> Table()
    {
        static TestCaseData Row(string name, GuildMember member, DashboardPermission[] documents, string[]? expected) =>
            new TestCaseData(member, documents, expected).SetName("Resolve_" + name);

        static GuildMember Member(bool admin = false, bool owner = false, (string Id, int Position)[]? roles = null) =>
            new([.. (roles ?? []).Select(r => new MemberRole(r.Id, r.Position))], owner, admin);

        string[] all = ["minecraft", "moderation", "tickets"];

        yield return Row("Owner_SeesEverything_EvenWithDenies", Member(owner: true, roles: [("r1", 5)]),
            [Role(G, "r1", Deny("moderation"), Allow("_deny_access"))], null);
        yield return Row("Administrator_DefaultAllow", Member(admin: true, roles: [("r1", 5)]), [], all);
        yield return Row("Member_DefaultDeny_CannotOpen", Member(roles: [("r1", 5)]), [], []);
        yield return Row("Member_CategoryAllow_GrantsTheCategory", Member(roles: [("r1", 5)]),
            [Role(G, "r1", Allow("minecraft"))], ["minecraft"]);
        yield return Row("Member_ActionAllow_GrantsItsCategory", Member(roles: [("r1", 5)]),
            [Role(G, "r1", Allow("moderation.view_infractions"))], ["moderation"]);
        yield return Row("Administrator_CategoryDeny_RemovesIt", Member(admin: true, roles: [("r1", 5)]),
            [Role(G, "r1", Deny("moderation"))], ["minecraft", "tickets"]);
        yield return Row("ActionBeatsCategory_OnOneRole", Member(roles: [("r1", 5)]),
            [Role(G, "r1", Deny("moderation"), Allow("moderation.manage_config"))], ["moderation"]);
        yield return Row("ActionBeatsCategory_AcrossRoles_EvenFromALowerRole", Member(roles: [("high", 9), ("low", 1)]),
            [Role(G, "high", Deny("moderation")), Role(G, "low", Allow("moderation.manage_config"))], ["moderation"]);
        yield return Row("ActionDeny_BeatsCategoryAllow", Member(roles: [("r1", 5)]),
            [Role(G, "r1", Allow("minecraft"), Deny("minecraft.manage_config"))], []);
        yield return Row("HighestRoleWithAnOpinionWins_Allow", Member(roles: [("high", 9), ("low", 1)]),
            [Role(G, "high", Allow("tickets")), Role(G, "low", Deny("tickets"))], ["tickets"]);
        yield return Row("HighestRoleWithAnOpinionWins_Deny", Member(admin: true, roles: [("high", 9), ("low", 1)]),
            [Role(G, "high", Deny("tickets")), Role(G, "low", Allow("tickets"))], ["minecraft", "moderation"]);
        yield return Row("RoleWithoutOpinion_IsSkipped", Member(roles: [("high", 9), ("low", 1)]),
            [Role(G, "high", Allow("minecraft")), Role(G, "low", Allow("tickets"))], ["minecraft", "tickets"]);
        yield return Row("TieAtTheSamePosition_DenyWins", Member(roles: [("a", 5), ("b", 5)]),
            [Role(G, "a", Allow("tickets")), Role(G, "b", Deny("tickets"))], []);
        yield return Row("TieAtTheSamePosition_OrderOfDocumentsDoesNotMatter", Member(roles: [("a", 5), ("b", 5)]),
            [Role(G, "b", Deny("tickets")), Role(G, "a", Allow("tickets"))], []);
        yield return Row("DenyAccess_OnHighestSettingRole_StripsTheAdministratorDefault", Member(admin: true, roles: [("r1", 5)]),
            [Role(G, "r1", Allow("_deny_access"))], []);
        yield return Row("DenyAccess_StripsOnlyTheDefault_ExplicitAllowsStillCount", Member(admin: true, roles: [("r1", 5)]),
            [Role(G, "r1", Allow("_deny_access"), Allow("minecraft"))], ["minecraft"]);
        yield return Row("DenyAccess_AHigherRoleSwitchesItOff", Member(admin: true, roles: [("high", 9), ("low", 1)]),
            [Role(G, "high", Deny("_deny_access")), Role(G, "low", Allow("_deny_access"))], all);
        yield return Row("DenyAccess_HigherRoleSwitchesItOn", Member(admin: true, roles: [("high", 9), ("low", 1)]),
            [Role(G, "high", Allow("_deny_access")), Role(G, "low", Deny("_deny_access"))], []);
        yield return Row("DenyAccess_OnANonAdministrator_ChangesNothing", Member(roles: [("r1", 5)]),
            [Role(G, "r1", Allow("_deny_access"), Allow("tickets"))], ["tickets"]);
        yield return Row("DocumentsOfRolesTheMemberLacks_AreIgnored", Member(roles: [("mine", 1)]),
            [Role(G, "other", Allow("minecraft")), Role(G, "mine", Allow("tickets"))], ["tickets"]);
        yield return Row("MemberRoleWithoutADocument_HasNoOpinion", Member(admin: true, roles: [("nodoc", 9), ("r1", 1)]),
            [Role(G, "r1", Deny("tickets"))], ["minecraft", "moderation"]);
        yield return Row("MemberWithNoRoles_AdministratorStillDefaultsToAllow", Member(admin: true), [Role(G, "r1", Deny("tickets"))], all);
        yield return Row("OverridesOfUnregisteredKeys_ChangeNothing", Member(roles: [("r1", 5)]),
            [Role(G, "r1", Allow("music"), Allow("moderation.unknown_action"))], []);
    }

    [TestCaseSource(nameof(Table))]
    public void Resolve(GuildMember member, DashboardPermission[] documents, string[]? expected)
    {
        var access = DashboardPermissionResolver.Resolve(member, documents, Registry);

        if (expected is null)
        {
            Assert.That(access, Is.SameAs(GuildAccess.Full));
            return;
        }

        Assert.Multiple(() =>
        {
            Assert.That(access.CanOpen, Is.EqualTo(expected.Length > 0), "a user sees a guild when at least one action is allowed");
            Assert.That((access.Categories ?? []).Order(StringComparer.Ordinal), Is.EqualTo(expected));
        });
    }

    [Test]
    public void Resolve_NoRegistry_AdministratorsOpenTheGuild_OthersDoNot()
    {
        var empty = new Dictionary<string, List<string>>();
        Assert.Multiple(() =>
        {
            Assert.That(DashboardPermissionResolver.Resolve(new GuildMember([], IsAdministrator: true), [], empty).CanOpen, Is.True);
            Assert.That(DashboardPermissionResolver.Resolve(new GuildMember([]), [], empty).CanOpen, Is.False);
        });
    }

    [Test]
    public void GuildAccess_EventsOfPluginsWithoutACategory_ReachEveryone()
    {
        var access = GuildAccess.ForCategories(["minecraft"]);
        Assert.Multiple(() =>
        {
            Assert.That(access.Allows(null), Is.True);
            Assert.That(access.Allows("minecraft"), Is.True);
            Assert.That(access.Allows("moderation"), Is.False);
            Assert.That(GuildAccess.Full.Allows("anything"), Is.True);
        });
    }
}
