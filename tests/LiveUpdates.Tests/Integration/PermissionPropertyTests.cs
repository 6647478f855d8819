using System.Globalization;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// A randomized property test over real sockets: hundreds of clients with random roles and overrides across several
/// guilds, random broadcasts across plugins, random permission changes mid-run. Every client must receive exactly the
/// events it was allowed at the moment of each broadcast, judged by an oracle written apart from the resolver.
/// Replay a failure with LIVEUPDATES_PROPERTY_SEED=&lt;seed printed in the failure&gt;.
/// </summary>
[TestFixture]
public sealed class PermissionPropertyTests
{
    private static readonly string[] Guilds = ["100000000000000001", "100000000000000002", "100000000000000003"];
    private static readonly string[] Roles = ["r1", "r2", "r3", "r4"];
    private static readonly Dictionary<string, List<string>> Registry = new(StringComparer.Ordinal)
    {
        ["moderation"] = ["moderation.manage_config", "moderation.view_infractions"],
        ["tickets"] = ["tickets.view"],
        ["minecraft"] = ["minecraft.manage_config"],
    };

    private static readonly string[] Keys = ["moderation", "moderation.manage_config", "moderation.view_infractions", "tickets", "tickets.view", "minecraft", "minecraft.manage_config", "_deny_access"];
    private static readonly string[] Events = ["moderation:rule_created", "moderation:infraction_created", "tickets:ticket_created", "minecraft:player_linked", "tags:tag_created"];

    [Test]
    public async Task NoClientEverReceivesAnEventItWasNotAllowed_AndEveryAllowedClientReceivesEveryEvent()
    {
        const int Clients = 200;
        const int Phases = 8;
        const int EventsPerPhase = 25;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("LIVEUPDATES_PROPERTY_SEED"), CultureInfo.InvariantCulture, out var s) ? s : Random.Shared.Next();
        TestContext.Out.WriteLine($"permission property test seed: {seed}");
        var random = new Random(seed);

        var members = new InMemoryMemberSource();
        var store = new InMemoryPermissionStore();
        var documents = Guilds.ToDictionary(g => g, _ => new Dictionary<string, Dictionary<string, PermissionOverride>>());
        var memberships = new Dictionary<(string Guild, string User), GuildMember>();
        foreach (var guild in Guilds)
        {
            foreach (var role in Roles)
            {
                documents[guild][role] = RandomOverrides(random);
            }

            Publish(store, documents, guild);
        }

        await using var server = await TestServer.StartAsync(
            o =>
            {
                o.MaxConnectionsPerAddress = 1_000;
                o.MaxGuildsPerClient = Guilds.Length;
                foreach (var (category, actions) in Registry)
                {
                    o.PermissionCategories[category] = actions;
                }
            },
            accessPolicy: options => new LiveUpdates.Security.DashboardAccessPolicy(members, store, options));

        // Clients, their memberships, and their subscriptions as the oracle expects them.
        var users = Enumerable.Range(0, Clients).Select(i => (100000 + i).ToString(CultureInfo.InvariantCulture)).ToArray();
        foreach (var user in users)
        {
            foreach (var guild in Guilds)
            {
                if (random.NextDouble() < 0.15)
                {
                    continue; // not a member
                }

                var member = new GuildMember(
                    [.. Roles.Where(_ => random.NextDouble() < 0.4).Select(r => new MemberRole(r, Array.IndexOf(Roles, r) + (random.NextDouble() < 0.1 ? 0 : 1)))],
                    IsOwner: random.NextDouble() < 0.03,
                    IsAdministrator: random.NextDouble() < 0.2);
                memberships[(guild, user)] = member;
                members.Set(guild, user, member);
            }
        }

        var clients = new TestClient[Clients];
        var subscribed = new HashSet<(int Client, string Guild)>();
        await Parallel.ForAsync(0, Clients, new ParallelOptions { MaxDegreeOfParallelism = 25 }, async (i, _) =>
        {
            var client = await server.ConnectAsync();
            await client.ExpectAsync("connected");
            await client.AuthenticateAsync(TestTokens.Create(users[i], []));
            clients[i] = client;
        });

        for (var i = 0; i < Clients; i++)
        {
            foreach (var guild in Guilds)
            {
                var allowed = Oracle.Categories(memberships.GetValueOrDefault((guild, users[i])), documents[guild]) is { Count: > 0 } or null;
                await clients[i].SendAsync(new { type = "subscribe", guildId = guild });
                var answer = await clients[i].NextAsync();
                var name = answer.GetProperty("event").GetString();
                Assert.That(name, Is.EqualTo(allowed ? "subscribed" : "error"), $"seed {seed}: client {i} subscribing to {guild}");
                if (allowed)
                {
                    subscribed.Add((i, guild));
                }
            }
        }

        // The run: events, then a random permission change that the server is told about, phase after phase.
        var expected = Enumerable.Range(0, Clients).Select(_ => new List<string>()).ToArray();
        var nextEvent = 0;
        for (var phase = 0; phase < Phases; phase++)
        {
            for (var e = 0; e < EventsPerPhase; e++)
            {
                var guild = Guilds[random.Next(Guilds.Length)];
                var name = Events[random.Next(Events.Length)];
                var id = $"e{nextEvent++}";
                server.Manager.Broadcast(guild, name, new { id });
                var category = name.Split(':')[0];
                for (var i = 0; i < Clients; i++)
                {
                    if (subscribed.Contains((i, guild)) && Oracle.Sees(memberships.GetValueOrDefault((guild, users[i])), documents[guild], category))
                    {
                        expected[i].Add(id);
                    }
                }
            }

            // Change permissions in one guild: overrides of some roles, and sometimes someone's administrator flag.
            var changed = Guilds[random.Next(Guilds.Length)];
            foreach (var role in Roles.Where(_ => random.NextDouble() < 0.5))
            {
                documents[changed][role] = RandomOverrides(random);
            }

            if (random.NextDouble() < 0.5)
            {
                var user = users[random.Next(Clients)];
                if (memberships.TryGetValue((changed, user), out var member))
                {
                    memberships[(changed, user)] = member with { IsAdministrator = !member.IsAdministrator };
                    members.Set(changed, user, memberships[(changed, user)]);
                }
            }

            Publish(store, documents, changed);
            var announce = random.NextDouble() < 0.5;
            var announcementId = $"p{phase}";
            if (announce)
            {
                server.Manager.Broadcast(changed, LiveEvents.Dashboard.PermissionsUpdated, new { id = announcementId });

                // The server reads the store when it handles the announcement; the next change must not overtake it,
                // or the oracle (which applies each change at its announcement) would judge with the wrong documents.
                await server.FlushAsync();
            }
            else
            {
                await server.Manager.InvalidateGuildAccessAsync(changed);
            }

            for (var i = 0; i < Clients; i++)
            {
                if (!subscribed.Contains((i, changed)))
                {
                    continue;
                }

                if (Oracle.Categories(memberships.GetValueOrDefault((changed, users[i])), documents[changed]) is { Count: 0 })
                {
                    subscribed.Remove((i, changed));
                    expected[i].Add($"FORBIDDEN {changed}");
                }
                else if (announce)
                {
                    expected[i].Add(announcementId); // dashboard:* has no category: every remaining subscriber
                }
            }
        }

        await server.FlushAsync();
        long deliveries = 0, forbidden = 0;
        for (var i = 0; i < Clients; i++)
        {
            var received = (await clients[i].DrainUntilPongAsync()).Select(m => m.GetProperty("event").GetString() == "error"
                ? $"{m.GetProperty("data").GetProperty("code").GetString()} {m.GetProperty("guildId").GetString()}"
                : m.GetProperty("data").GetProperty("id").GetString()!).ToList();

            // Revocations and events may interleave differently across guilds; within the whole stream each item once.
            Assert.That(received.Order(StringComparer.Ordinal), Is.EqualTo(expected[i].Order(StringComparer.Ordinal)),
                $"seed {seed}: client {i} (user {users[i]}) received {received.Count}, expected {expected[i].Count}");
            deliveries += received.Count;
            forbidden += received.Count(r => r.StartsWith("FORBIDDEN", StringComparison.Ordinal));
            await clients[i].DisposeAsync();
        }

        TestContext.Out.WriteLine($"seed {seed}: {Clients} clients, {nextEvent} events, {Phases} permission changes, {deliveries} deliveries, {forbidden} revocations, all as the oracle says");
    }

    private static Dictionary<string, PermissionOverride> RandomOverrides(Random random)
    {
        var overrides = new Dictionary<string, PermissionOverride>(StringComparer.Ordinal);
        foreach (var key in Keys)
        {
            var roll = random.NextDouble();
            if (roll < 0.2)
            {
                overrides[key] = PermissionOverride.Allow;
            }
            else if (roll < 0.35)
            {
                overrides[key] = PermissionOverride.Deny;
            }
        }

        return overrides;
    }

    private static void Publish(InMemoryPermissionStore store, Dictionary<string, Dictionary<string, Dictionary<string, PermissionOverride>>> documents, string guild) =>
        store.Set(guild, [.. documents[guild].Select(d => new DashboardPermission(guild, d.Key, d.Key, new Dictionary<string, PermissionOverride>(d.Value)))]);

    /// <summary>The rules, written again as plainly as possible, independent of the resolver under test.</summary>
    private static class Oracle
    {
        /// <summary>The categories the member sees; <see langword="null"/> for everything (owner).</summary>
        public static List<string>? Categories(GuildMember? member, Dictionary<string, Dictionary<string, PermissionOverride>> documents)
        {
            if (member is null)
            {
                return [];
            }

            if (member.IsOwner)
            {
                return null;
            }

            var admin = member.IsAdministrator && Opinion(member, documents, "_deny_access") != PermissionOverride.Allow;
            var result = new List<string>();
            foreach (var (category, actions) in Registry)
            {
                if (actions.Any(action => (Opinion(member, documents, action) ?? Opinion(member, documents, category) ?? (admin ? PermissionOverride.Allow : PermissionOverride.Deny)) == PermissionOverride.Allow))
                {
                    result.Add(category);
                }
            }

            return result;
        }

        // A plugin in no registered category is closed (DeliverUncategorizedEventsToEveryone is off): only users who see
        // every category (owners) receive it.
        public static bool Sees(GuildMember? member, Dictionary<string, Dictionary<string, PermissionOverride>> documents, string plugin) =>
            Categories(member, documents) is not { } categories || (Registry.ContainsKey(plugin) && categories.Contains(plugin));

        private static PermissionOverride? Opinion(GuildMember member, Dictionary<string, Dictionary<string, PermissionOverride>> documents, string key)
        {
            var opinions = member.Roles
                .Where(r => documents.TryGetValue(r.RoleId, out var d) && d.ContainsKey(key))
                .Select(r => (r.Position, Value: documents[r.RoleId][key]))
                .ToList();
            if (opinions.Count == 0)
            {
                return null;
            }

            var top = opinions.Max(o => o.Position);
            return opinions.Where(o => o.Position == top).Any(o => o.Value == PermissionOverride.Deny) ? PermissionOverride.Deny : PermissionOverride.Allow;
        }
    }
}
