using System.Reflection;
using System.Text.Json;
using LiveUpdates.Internal;
using LiveUpdates.Internal.Connections;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Unit;

/// <summary>
/// Pins the savings that keep an idle authenticated connection small (docs/benchmarks.md, "Our share of an idle
/// connection"): each would come back silently, costing bytes per connection and failing no behaviour test. Structure
/// only, no sizes or timings: the sizes are measured by the load tool.
/// </summary>
[TestFixture]
public sealed class IdleConnectionMemoryTests
{
    private const BindingFlags InstanceFields = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

    [Test]
    public void AuthenticatedUser_KeepsTheClaimsAsUtf8_NotAParsedDocument()
    {
        // A parsed document per session (its UTF-8 copy, metadata rows and JsonDocument) was ~320 bytes per connection.
        var kept = typeof(AuthenticatedUser).GetFields(InstanceFields)
            .Where(f => f.FieldType == typeof(JsonElement) || f.FieldType == typeof(JsonDocument))
            .Select(f => f.Name);

        Assert.That(kept, Is.Empty, "AuthenticatedUser holds a parsed JSON document per session");
    }

    [Test]
    public void AuthenticatedUser_Claims_OutliveTheirDocument_AndReadAsGiven()
    {
        const string Json = """{"sub":"123","guilds":["1","2"],"exp":1900000000,"name":"caf\u00e9 \"x\""}""";
        AuthenticatedUser user;
        using (var document = JsonDocument.Parse(Json))
        {
            user = new AuthenticatedUser("123", document.RootElement, DateTimeOffset.FromUnixTimeSeconds(1900000000));
        }

        var claims = user.Claims;
        Assert.Multiple(() =>
        {
            Assert.That(claims.ValueKind, Is.EqualTo(JsonValueKind.Object));
            Assert.That(claims.GetRawText(), Is.EqualTo(Json), "the token's JSON, escapes included");
            Assert.That(claims.GetProperty("guilds").GetArrayLength(), Is.EqualTo(2));
            Assert.That(claims.GetProperty("name").GetString(), Is.EqualTo("café \"x\""));
            Assert.That(user.Claims.GetRawText(), Is.EqualTo(Json), "a second read gives the same claims");
            Assert.That(new AuthenticatedUser("1", default, null).Claims.ValueKind, Is.EqualTo(JsonValueKind.Undefined), "no claims kept");
        });
    }

    [Test]
    public void SlidingWindowLimiter_LetsItsWindowGo_OnceNothingInItIsRecent_WithTheSameAnswers()
    {
        var clock = new FakeTimeProvider();
        var limiter = new SlidingWindowLimiter(2, TimeSpan.FromSeconds(1), clock);
        Assert.That(limiter.TryAcquire(clock.GetTimestamp()), Is.True);
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.That(limiter.TryAcquire(clock.GetTimestamp()), Is.True);

        clock.Advance(TimeSpan.FromMilliseconds(700)); // the newest event is 0.7 s old: the window still limits
        limiter.Trim(clock.GetTimestamp());
        var heldWhileRecent = limiter.HoldsWindow;
        var answers = new List<bool> { limiter.TryAcquire(clock.GetTimestamp()), limiter.TryAcquire(clock.GetTimestamp()) };

        clock.Advance(TimeSpan.FromSeconds(1)); // every event is a second old or more
        limiter.Trim(clock.GetTimestamp());
        var heldWhenIdle = limiter.HoldsWindow;
        answers.AddRange([limiter.TryAcquire(clock.GetTimestamp()), limiter.TryAcquire(clock.GetTimestamp()), limiter.TryAcquire(clock.GetTimestamp())]);

        Assert.Multiple(() =>
        {
            Assert.That(heldWhileRecent, Is.True, "a window with a recent event is kept");
            Assert.That(heldWhenIdle, Is.False, "an idle connection keeps no window");
            Assert.That(answers, Is.EqualTo(new[] { true, false, true, true, false }), "the first event had aged out; then two per second, as without trimming");
        });
    }

    [Test]
    public async Task Connection_KeepsOneStateMachine_AndNoClosureOfItsOwn()
    {
        await using var server = await TestServer.StartAsync();
        await using var a = await server.ConnectAuthenticatedAsync("1", ["100000000000000001"]);
        await using var b = await server.ConnectAuthenticatedAsync("2", ["100000000000000001"]);
        await Wait.UntilAsync(() => server.Manager.Connections.Count(c => c.User is not null) == 2, "both authenticated");
        var connections = server.Manager.Connections.ToArray();

        var onClosed = typeof(ClientConnection).GetField("_onClosed", InstanceFields)!;
        var completionFields = typeof(ClientConnection).GetFields(InstanceFields).Where(f => typeof(TaskCompletionSource).IsAssignableFrom(f.FieldType)).Select(f => f.Name);
        Assert.Multiple(() =>
        {
            // The completion is the receive loop's own task (a second state machine or a TaskCompletionSource to
            // await it was ~220 bytes per connection), and the close callback is the server's one delegate (a closure
            // per connection was ~120 bytes).
            Assert.That(completionFields, Is.Empty, "a TaskCompletionSource per connection");
            Assert.That(connections.Select(c => c.Completion.GetType().FullName), Has.All.Contains("ReceiveLoopAsync"), "the connection's completion is its receive loop's task");
            Assert.That(onClosed.GetValue(connections[0]), Is.SameAs(onClosed.GetValue(connections[1])), "one close callback for every connection");
        });
    }
}
