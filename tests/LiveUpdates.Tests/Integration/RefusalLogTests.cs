using System.Net.WebSockets;
using LiveUpdates.Security;
using LiveUpdates.Tests.Infrastructure;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LiveUpdates.Tests.Integration;

/// <summary>
/// Every refusal explains itself in the log at Information (issue 24, item 1): the rule or reason and the setting to
/// change, rate-limited per reason, never the token; the client still gets only the status or the stable code.
/// Real servers and real WebSocket clients over loopback.
/// </summary>
[TestFixture]
public sealed class RefusalLogTests
{
    private const string Dashboard = "https://dashboard.example";

    [Test]
    public async Task RefusedOrigin_LogsTheOriginAndTheSetting_AtInformation()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs, o => o.AllowedOrigins.Add(Dashboard));

        await ConnectRefusedAsync(server, origin: "http://localhost:3000");

        var line = await logs.WaitForAsync(LogLevel.Information, "http://localhost:3000");
        Assert.That(line.Message, Does.Contain("403").And.Contain("is not in LiveUpdates:AllowedOrigins").And.Contain(Dashboard), line.Message);
    }

    [Test]
    public async Task RefusedPath_LogsThePathRuleAndTheConfiguredPath()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs, o => o.Path = "/live");

        await ConnectRefusedAsync(server, path: "/elsewhere");

        var line = await logs.WaitForAsync(LogLevel.Information, "rule path");
        Assert.That(line.Message, Does.Contain("404").And.Contain("'/elsewhere'").And.Contain("LiveUpdates:Path '/live'"), line.Message);
    }

    [Test]
    public async Task Refusals_AreLoggedOncePerSecondPerRule_WithTheCountOfTheOthers()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs, o => o.AllowedOrigins.Add(Dashboard), time);

        for (var i = 0; i < 3; i++)
        {
            await ConnectRefusedAsync(server, origin: "https://evil.example");
        }

        await ConnectRefusedAsync(server, path: "/other"); // another rule gets its own first line
        await logs.WaitForAsync(LogLevel.Information, "rule path");
        Assert.That(logs.At(LogLevel.Information).Count(e => e.Message.Contains("rule origin", StringComparison.Ordinal)), Is.EqualTo(1), "one line for three refusals within a second");

        time.Advance(TimeSpan.FromSeconds(1));
        await ConnectRefusedAsync(server, origin: "https://evil.example");
        await Wait.UntilAsync(() => logs.At(LogLevel.Information).Count(e => e.Message.Contains("rule origin", StringComparison.Ordinal)) == 2, "the next second's line");
        Assert.That(logs.At(LogLevel.Information).Last(e => e.Message.Contains("rule origin", StringComparison.Ordinal)).Message, Does.Contain("2 more refusal(s)"));
    }

    private static IEnumerable<TestCaseData> RefusedTokens()
    {
        yield return new TestCaseData(TestTokens.Create("42", ["1"], includeExpiry: false), LiveErrorCodes.TokenInvalid, "no exp claim").SetName("TokenWithoutExp_LogsMissingExp");
        yield return new TestCaseData(TestTokens.Create("42", ["1"], secret: TestTokens.OtherSecret), LiveErrorCodes.TokenInvalid, "it was signed with another key").SetName("TokenOfAnotherSecret_LogsTheWrongKey");
        yield return new TestCaseData(TestTokens.Create("42", ["1"], now: DateTimeOffset.UtcNow.AddHours(-3)), LiveErrorCodes.TokenExpired, "it expired").SetName("ExpiredToken_LogsExpired");
        yield return new TestCaseData(TestTokens.Create("42", ["1"], notBefore: DateTimeOffset.UtcNow.AddHours(1)), LiveErrorCodes.TokenNotYetValid, "nbf is in the future").SetName("FutureToken_LogsNotYetValid");
        yield return new TestCaseData(TestTokens.Unsigned("42", ["1"]), LiveErrorCodes.TokenInvalid, "unsigned (alg: none)").SetName("UnsignedToken_LogsUnsigned");
        yield return new TestCaseData("not-a-token", LiveErrorCodes.TokenInvalid, "not a JWT or JWE").SetName("Garbage_LogsUnreadable");
    }

    [TestCaseSource(nameof(RefusedTokens))]
    public async Task RefusedToken_LogsTheSpecificReason_ClientGetsOnlyTheCode(string token, string code, string reason)
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token });
        var error = await client.ExpectErrorAsync(code);

        var line = await logs.WaitForAsync(LogLevel.Information, reason);
        Assert.Multiple(() =>
        {
            Assert.That(line.Message, Does.Contain(code));
            Assert.That(logs.Entries.Any(e => e.Message.Contains(token, StringComparison.Ordinal)), Is.False, "the token is never logged");
            Assert.That(error.ToString(), Does.Not.Contain(reason), "the client gets the stable code, not the reason");
        });
    }

    [Test]
    public async Task TooManyAuthAttempts_IsExplainedAtInformation()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs, o => o.MaxAuthAttemptsPerMinute = 1);
        await using var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");

        await client.SendAsync(new { type = "auth", token = "not-a-token" });
        await client.ExpectErrorAsync(LiveErrorCodes.TokenInvalid);
        await client.SendAsync(new { type = "auth", token = "not-a-token" });
        await client.ExpectErrorAsync(LiveErrorCodes.TooManyAuthAttempts);

        var line = await logs.WaitForAsync(LogLevel.Information, LiveErrorCodes.TooManyAuthAttempts);
        Assert.That(line.Message, Does.Contain("more than LiveUpdates:MaxAuthAttemptsPerMinute auth messages in a minute"), line.Message);
    }

    [Test]
    public async Task GuildNotInTheToken_LogsThePolicyAndTheClaim()
    {
        var logs = new CapturingLoggerProvider();
        await using var server = await StartAsync(logs);
        await using var client = await ConnectAsync(server, TestTokens.Create("42", ["1"]));

        await client.SendAsync(new { type = "subscribe", guildId = "2" });
        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);

        var line = await logs.WaitForAsync(LogLevel.Information, "was refused guild 2");
        Assert.That(line.Message, Does.Contain("TokenClaimGuildAccessPolicy").And.Contain("not in the token's 'guilds' claim (1 guild id(s) listed)"), line.Message);
    }

    [Test]
    public async Task GuildTheMemberSourceDoesNotKnow_LogsNotAMember()
    {
        var logs = new CapturingLoggerProvider();
        var members = new InMemoryMemberSource();
        await using var server = await StartAsync(logs, policy: o => new DashboardAccessPolicy(members, null, o));
        await using var client = await ConnectAsync(server, TestTokens.Create("42", []));

        await client.SendAsync(new { type = "subscribe", guildId = "7" });
        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);

        var line = await logs.WaitForAsync(LogLevel.Information, "was refused guild 7");
        Assert.That(line.Message, Does.Contain("DashboardAccessPolicy").And.Contain("InMemoryMemberSource").And.Contain("found no member"), line.Message);
    }

    [Test]
    public async Task MemberWithoutAnAllowedAction_LogsWhyNoActionIsAllowed()
    {
        var logs = new CapturingLoggerProvider();
        var members = new InMemoryMemberSource();
        members.Set("7", "42", new GuildMember([new MemberRole("r1", 1)]));
        await using var server = await StartAsync(logs, policy: o => new DashboardAccessPolicy(members, null, o));
        await using var client = await ConnectAsync(server, TestTokens.Create("42", []));

        await client.SendAsync(new { type = "subscribe", guildId = "7" });
        await client.ExpectErrorAsync(LiveErrorCodes.Forbidden);

        var line = await logs.WaitForAsync(LogLevel.Information, "was refused guild 7");
        Assert.That(line.Message, Does.Contain("allows no dashboard action").And.Contain("neither the owner nor an administrator").And.Contain("no permission store is registered"), line.Message);
    }

    private static async Task<TestClient> ConnectAsync(TestServer server, string token)
    {
        var client = await server.ConnectAsync();
        await client.ExpectAsync("connected");
        await client.AuthenticateAsync(token);
        return client;
    }

    private static async Task ConnectRefusedAsync(TestServer server, string? origin = null, string? path = null)
    {
        using var socket = new ClientWebSocket();
        if (origin is not null)
        {
            socket.Options.SetRequestHeader("Origin", origin);
        }

        var uri = new Uri($"ws://127.0.0.1:{server.Options.Port}{path ?? server.Options.Path}");
        Assert.That(async () => await socket.ConnectAsync(uri, CancellationToken.None).WaitAsync(Wait.Default), Throws.InstanceOf<WebSocketException>());
    }

    private static Task<TestServer> StartAsync(CapturingLoggerProvider logs, Action<LiveUpdatesOptions>? configure = null, TimeProvider? time = null, Func<LiveUpdatesOptions, IGuildAccessPolicy>? policy = null) =>
        TestServer.StartAsync(configure, time, accessPolicy: policy, loggerFactory: logs.CreateFactory());
}
