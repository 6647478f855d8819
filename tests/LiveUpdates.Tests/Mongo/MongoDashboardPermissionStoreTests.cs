using LiveUpdates.Mongo;
using LiveUpdates.Mongo.Internal;
using LiveUpdates.Security;
using Microsoft.Extensions.Time.Testing;
using MongoDB.Bson;
using MongoDB.Driver;
using Moq;

namespace LiveUpdates.Tests.Mongo;

/// <summary>The MongoDB store at the driver seam (a mocked collection), plus a real-server test where one is configured.</summary>
[TestFixture]
public sealed class MongoDashboardPermissionStoreTests
{
    private const string G = "111111111111111111";

    [Test]
    public void Map_ReadsTheBotsDocumentShape_AndIgnoresValuesOtherThanAllowOrDeny()
    {
        var document = BsonDocument.Parse("""
            { "_id": { "$oid": "65a1b2c3d4e5f60718293a4b" }, "guildId": "111111111111111111", "discordRoleId": "42",
              "roleName": "Moderators", "overrides": { "moderation": "allow", "tickets.view": "deny", "minecraft": "inherit", "x": 1 },
              "createdAt": { "$date": "2026-01-01T00:00:00Z" }, "__v": 0 }
            """);

        var permission = MongoDashboardPermissionStore.Map(document);

        Assert.That(permission, Is.Not.Null);
        Assert.Multiple(() =>
        {
            Assert.That(permission!.GuildId, Is.EqualTo(G));
            Assert.That(permission.DiscordRoleId, Is.EqualTo("42"));
            Assert.That(permission.RoleName, Is.EqualTo("Moderators"));
            Assert.That(permission.Overrides, Is.EquivalentTo(new Dictionary<string, PermissionOverride>
            {
                ["moderation"] = PermissionOverride.Allow,
                ["tickets.view"] = PermissionOverride.Deny,
            }));
        });
    }

    [TestCase("""{ "guildId": "1" }""")]
    [TestCase("""{ "guildId": "1", "discordRoleId": 42 }""")]
    [TestCase("""{ "discordRoleId": "42" }""")]
    public void Map_DocumentWithoutIds_IsSkipped(string json) =>
        Assert.That(MongoDashboardPermissionStore.Map(BsonDocument.Parse(json)), Is.Null);

    [Test]
    public async Task GetPermissionsAsync_QueriesByGuildOnce_CachesForTheDuration_AndInvalidateDropsTheCache()
    {
        var clock = new FakeTimeProvider();
        var collection = CollectionReturning(BsonDocument.Parse($$"""{ "guildId": "{{G}}", "discordRoleId": "1", "overrides": { "tickets": "allow" } }"""));
        var store = new MongoDashboardPermissionStore(collection.Object, TimeSpan.FromSeconds(30), clock);

        var first = await store.GetPermissionsAsync(G, CancellationToken.None);
        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => store.GetPermissionsAsync(G, CancellationToken.None).AsTask()));
        Assert.That(first, Has.Count.EqualTo(1));
        VerifyQueries(collection, 1);

        clock.Advance(TimeSpan.FromSeconds(31));
        await store.GetPermissionsAsync(G, CancellationToken.None);
        VerifyQueries(collection, 2);

        store.Invalidate(G);
        await store.GetPermissionsAsync(G, CancellationToken.None);
        VerifyQueries(collection, 3);
    }

    [Test]
    public async Task GetPermissionsAsync_AFailedQuery_IsNotCached()
    {
        var collection = new Mock<IMongoCollection<BsonDocument>>();
        var calls = 0;
        collection.Setup(c => c.FindAsync(It.IsAny<FilterDefinition<BsonDocument>>(), It.IsAny<FindOptions<BsonDocument, BsonDocument>>(), It.IsAny<CancellationToken>()))
            .Returns(() => ++calls == 1 ? throw new TimeoutException("no server") : Task.FromResult(Cursor()));
        var store = new MongoDashboardPermissionStore(collection.Object, TimeSpan.FromMinutes(5), new FakeTimeProvider());

        Assert.ThrowsAsync<TimeoutException>(async () => await store.GetPermissionsAsync(G, CancellationToken.None));
        var second = await store.GetPermissionsAsync(G, CancellationToken.None);

        Assert.That(second, Is.Empty);
        Assert.That(calls, Is.EqualTo(2));
    }

    [Test]
    public async Task Health_IsUnavailableAfterAFailedQuery_UntilOneSucceeds_AndShowsInTheServersHealth()
    {
        var collection = new Mock<IMongoCollection<BsonDocument>>();
        var fail = true;
        collection.Setup(c => c.FindAsync(It.IsAny<FilterDefinition<BsonDocument>>(), It.IsAny<FindOptions<BsonDocument, BsonDocument>>(), It.IsAny<CancellationToken>()))
            .Returns(() => fail ? throw new TimeoutException("no server") : Task.FromResult(Cursor()));
        var store = new MongoDashboardPermissionStore(collection.Object, TimeSpan.FromMinutes(5), new FakeTimeProvider());
        var policy = new DashboardAccessPolicy(new OwnerlessMembers(), store, new LiveUpdatesOptions());

        var fresh = store.GetHealth();
        Assert.ThrowsAsync<TimeoutException>(async () => await store.GetPermissionsAsync(G, CancellationToken.None));
        var failed = policy.GetHealth();
        fail = false;
        await store.GetPermissionsAsync(G, CancellationToken.None);
        var recovered = store.GetHealth();

        Assert.Multiple(() =>
        {
            Assert.That(fresh.IsAvailable, Is.True);
            Assert.That(failed.IsAvailable, Is.False, "the policy reports its store");
            Assert.That(failed.Description, Does.Contain("no server"));
            Assert.That(recovered.IsAvailable, Is.True);
        });
    }

    private sealed class OwnerlessMembers : IGuildMemberSource
    {
        public ValueTask<IReadOnlyList<string>> GetGuildIdsAsync(AuthenticatedUser user, CancellationToken cancellationToken) => ValueTask.FromResult<IReadOnlyList<string>>([]);

        public ValueTask<GuildMember?> GetMemberAsync(string guildId, AuthenticatedUser user, CancellationToken cancellationToken) => ValueTask.FromResult<GuildMember?>(null);
    }

    [Test]
    public async Task RealServer_WhenLiveUpdatesMongoUriIsSet()
    {
        var uri = Environment.GetEnvironmentVariable("LIVEUPDATES_MONGO_URI");
        if (string.IsNullOrEmpty(uri))
        {
            Assert.Ignore("LIVEUPDATES_MONGO_URI is not set: no MongoDB server can be installed from the registries here (docs/security.md, 'The MongoDB permission store').");
        }

        var options = new MongoPermissionStoreOptions { ConnectionString = uri, DatabaseName = $"liveupdates_test_{Guid.NewGuid():N}" };
        var collection = MongoOptionsSetup.OpenCollection(options);
        try
        {
            await collection.InsertManyAsync(
            [
                BsonDocument.Parse($$"""{ "guildId": "{{G}}", "discordRoleId": "1", "roleName": "Mods", "overrides": { "moderation": "allow" } }"""),
                BsonDocument.Parse("""{ "guildId": "222", "discordRoleId": "1", "overrides": { "moderation": "deny" } }"""),
            ]);
            var store = new MongoDashboardPermissionStore(collection, TimeSpan.FromSeconds(30), TimeProvider.System);

            var permissions = await store.GetPermissionsAsync(G, CancellationToken.None);

            Assert.That(permissions.Select(p => (p.DiscordRoleId, p.Overrides["moderation"])), Is.EqualTo(new[] { ("1", PermissionOverride.Allow) }));
        }
        finally
        {
            await collection.Database.Client.DropDatabaseAsync(options.DatabaseName);
        }
    }

    [TestCase("mongodb://localhost:27017", null, "DatabaseName (environment variable MONGODB_DATABASE) is not set")]
    [TestCase("not a uri", null, "is not a MongoDB connection string")]
    public void Validate_ReportsWhatToFix(string connectionString, string? database, string expected)
    {
        var result = new MongoOptionsSetup(_ => null).Validate(null, new MongoPermissionStoreOptions { ConnectionString = connectionString, DatabaseName = database });
        Assert.That(result.FailureMessage, Does.Contain(expected));
    }

    [Test]
    public void Validate_NoConnectionString_NamesTheSettingAndItsVariable() =>
        Assert.That(
            new MongoOptionsSetup(_ => null).Validate(null, new MongoPermissionStoreOptions()).FailureMessage,
            Does.Contain("LiveUpdates:Mongo:ConnectionString (environment variable MONGODB_URI) is not set"));

    [Test]
    public void Validate_DatabaseInTheConnectionString_IsEnough() =>
        Assert.That(new MongoOptionsSetup(_ => null).Validate(null, new MongoPermissionStoreOptions { ConnectionString = "mongodb://localhost:27017/bot" }).Succeeded, Is.True);

    [Test]
    public void Environment_MongodbUriAndDatabase_AreApplied()
    {
        var options = new MongoPermissionStoreOptions();
        new MongoOptionsSetup(name => name switch { "MONGODB_URI" => "mongodb://db:27017", "MONGODB_DATABASE" => "bot", _ => null }).Configure(options);
        Assert.That((options.ConnectionString, options.DatabaseName), Is.EqualTo(("mongodb://db:27017", "bot")));
    }

    private static Mock<IMongoCollection<BsonDocument>> CollectionReturning(params BsonDocument[] documents)
    {
        var collection = new Mock<IMongoCollection<BsonDocument>>();
        collection.Setup(c => c.FindAsync(It.IsAny<FilterDefinition<BsonDocument>>(), It.IsAny<FindOptions<BsonDocument, BsonDocument>>(), It.IsAny<CancellationToken>()))
            .ReturnsAsync(() => Cursor(documents));
        return collection;
    }

    private static IAsyncCursor<BsonDocument> Cursor(params BsonDocument[] documents)
    {
        var cursor = new Mock<IAsyncCursor<BsonDocument>>();
        var moved = false;
        cursor.Setup(c => c.MoveNextAsync(It.IsAny<CancellationToken>())).ReturnsAsync(() => !moved && (moved = true));
        cursor.SetupGet(c => c.Current).Returns(documents);
        return cursor.Object;
    }

    private static void VerifyQueries(Mock<IMongoCollection<BsonDocument>> collection, int times) =>
        collection.Verify(c => c.FindAsync(
            It.Is<FilterDefinition<BsonDocument>>(f => f.Render(new RenderArgs<BsonDocument>(MongoDB.Bson.Serialization.BsonSerializer.SerializerRegistry.GetSerializer<BsonDocument>(), MongoDB.Bson.Serialization.BsonSerializer.SerializerRegistry)) == new BsonDocument("guildId", G)),
            It.IsAny<FindOptions<BsonDocument, BsonDocument>>(), It.IsAny<CancellationToken>()), Times.Exactly(times));
}
