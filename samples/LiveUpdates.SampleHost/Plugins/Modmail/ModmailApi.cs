namespace LiveUpdates.SampleHost.Plugins.Modmail;

/// <summary>A DM to the bot (simulated through the API here; the Discord gateway in a real bot).</summary>
public sealed record DirectMessage(string? UserId, string? UserName, string? Content);

/// <summary>A message relayed in a conversation.</summary>
public sealed record RelayedMessage(string? AuthorId, string? AuthorName, string? Content, bool? FromStaff);

/// <summary>A staff action on a conversation. The staff member is the acting user the dashboard sets from the session (<c>_dashboardUserId</c>), never a body field.</summary>
public sealed record StaffAction(string? Reason);

/// <summary>The modmail plugin's HTTP routes, mirroring the bot's <c>/api/guilds/{guildId}/modmail/…</c>.</summary>
public static class ModmailApi
{
    private const string NotAnObject = "The body must be a JSON object.";
    private const string ActingUserRequired = "The acting user (_dashboardUserId, which the dashboard sets from the signed-in session) is required.";
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

            // From the dashboard (an acting user, set from the session): a staff reply by that user, whatever the body
            // says. Without one, the bot relays a member's DM, as the member (authorId).
            var fromDashboard = actingUser is not null;
            var author = fromDashboard ? actingUser : m.AuthorId;
            if (string.IsNullOrWhiteSpace(author) || string.IsNullOrWhiteSpace(m.Content) || m.Content.Length > MaxContent)
            {
                return Api.BadRequest($"authorId and content (1 to {MaxContent} characters) are required.");
            }

            var (outcome, message) = modmail.Relay(guildId, conversationId, author, fromDashboard ? author : m.AuthorName ?? author, m.Content, fromStaff: fromDashboard || (m.FromStaff ?? false));
            return Result(outcome, message);
        });

        group.MapPost("/conversations/{conversationId}/claim", async (string guildId, string conversationId, HttpRequest request, ModmailService modmail) =>
        {
            var (_, staffId) = await Api.ReadAsync<StaffAction>(request);
            if (string.IsNullOrWhiteSpace(staffId))
            {
                return Api.BadRequest(ActingUserRequired);
            }

            var (outcome, conversation) = modmail.Claim(guildId, conversationId, staffId);
            return Result(outcome, conversation);
        });

        group.MapPost("/conversations/{conversationId}/close", async (string guildId, string conversationId, HttpRequest request, ModmailService modmail) =>
        {
            var (action, staffId) = await Api.ReadAsync<StaffAction>(request);
            if (string.IsNullOrWhiteSpace(staffId))
            {
                return Api.BadRequest(ActingUserRequired);
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
