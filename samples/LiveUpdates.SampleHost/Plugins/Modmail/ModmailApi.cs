namespace LiveUpdates.SampleHost.Plugins.Modmail;

/// <summary>A DM to the bot (simulated through the API here; the Discord gateway in a real bot).</summary>
public sealed record DirectMessage(string? UserId, string? UserName, string? Content);

/// <summary>A message relayed in a conversation.</summary>
public sealed record RelayedMessage(string? AuthorId, string? AuthorName, string? Content, bool? FromStaff);

/// <summary>A staff action on a conversation.</summary>
public sealed record StaffAction(string? StaffId, string? Reason);

/// <summary>The modmail plugin's HTTP routes, mirroring the bot's <c>/api/guilds/{guildId}/modmail/…</c>.</summary>
public static class ModmailApi
{
    private const string NotAnObject = "The body must be a JSON object.";
    private const int MaxContent = 2000;

    public static void MapModmailApi(this WebApplication app)
    {
        var group = app.MapGuildPlugin("modmail");

        group.MapGet("/conversations", (string guildId, string? status, ModmailService modmail) =>
            Api.Ok(modmail.List(guildId, includeClosed: status == "all")));

        group.MapGet("/conversations/{conversationId}", (string guildId, string conversationId, ModmailService modmail) =>
            modmail.Get(guildId, conversationId) is { } found
                ? Api.Ok(new { conversation = found.Conversation, messages = found.Messages })
                : Api.NotFound("Conversation"));

        group.MapPost("/conversations", async (string guildId, HttpRequest request, ModmailService modmail) =>
        {
            var (dm, _) = await Api.ReadAsync<DirectMessage>(request);
            if (dm is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            if (string.IsNullOrWhiteSpace(dm.UserId) || string.IsNullOrWhiteSpace(dm.Content) || dm.Content.Length > MaxContent)
            {
                return Api.BadRequest($"userId and content (1 to {MaxContent} characters) are required.");
            }

            return Api.Created(modmail.Open(guildId, dm.UserId, dm.UserName ?? dm.UserId, dm.Content));
        });

        group.MapPost("/conversations/{conversationId}/messages", async (string guildId, string conversationId, HttpRequest request, ModmailService modmail) =>
        {
            var (m, actingUser) = await Api.ReadAsync<RelayedMessage>(request);
            if (m is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            var author = m.AuthorId ?? actingUser;
            if (string.IsNullOrWhiteSpace(author) || string.IsNullOrWhiteSpace(m.Content) || m.Content.Length > MaxContent)
            {
                return Api.BadRequest($"authorId and content (1 to {MaxContent} characters) are required.");
            }

            var (outcome, message) = modmail.Relay(guildId, conversationId, author, m.AuthorName ?? author, m.Content, m.FromStaff ?? false);
            return Result(outcome, message);
        });

        group.MapPost("/conversations/{conversationId}/claim", async (string guildId, string conversationId, HttpRequest request, ModmailService modmail) =>
        {
            var (action, actingUser) = await Api.ReadAsync<StaffAction>(request);
            var staffId = action?.StaffId ?? actingUser;
            if (string.IsNullOrWhiteSpace(staffId))
            {
                return Api.BadRequest("staffId (or _dashboardUserId) is required.");
            }

            var (outcome, conversation) = modmail.Claim(guildId, conversationId, staffId);
            return Result(outcome, conversation);
        });

        group.MapPost("/conversations/{conversationId}/close", async (string guildId, string conversationId, HttpRequest request, ModmailService modmail) =>
        {
            var (action, actingUser) = await Api.ReadAsync<StaffAction>(request);
            var staffId = action?.StaffId ?? actingUser;
            if (string.IsNullOrWhiteSpace(staffId))
            {
                return Api.BadRequest("staffId (or _dashboardUserId) is required.");
            }

            var (outcome, conversation) = modmail.Close(guildId, conversationId, staffId, action?.Reason);
            return Result(outcome, conversation);
        });
    }

    private static IResult Result(ModmailOutcome outcome, object? data) => outcome switch
    {
        ModmailOutcome.Done => Api.Ok(data),
        ModmailOutcome.NotFound => Api.NotFound("Conversation"),
        _ => Results.Json(new { success = false, error = new { message = "The conversation is closed." } }, statusCode: StatusCodes.Status409Conflict),
    };
}
