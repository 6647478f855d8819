using System.Text.Json;
using System.Text.Json.Nodes;

namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>The moderation plugin's HTTP routes, mirroring the bot's <c>/api/guilds/{guildId}/moderation/…</c>.</summary>
public static class ModerationApi
{
    public static void MapModerationApi(this WebApplication app)
    {
        var group = app.MapGroup("/api/guilds/{guildId}/moderation");

        group.MapGet("/config", (string guildId, ModerationConfigService service) =>
            IsGuildId(guildId)
                ? Results.Json(new { success = true, data = service.Get(guildId) })
                : BadRequest("guildId must be a Discord snowflake."));

        group.MapPut("/config", async (string guildId, HttpRequest request, ModerationConfigService service) =>
        {
            if (!IsGuildId(guildId))
            {
                return BadRequest("guildId must be a Discord snowflake.");
            }

            JsonNode? body;
            try
            {
                body = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            }
            catch (JsonException)
            {
                return BadRequest("The body must be a JSON object.");
            }

            if (body is not JsonObject config)
            {
                return BadRequest("The body must be a JSON object.");
            }

            // As in the seed, the dashboard names the acting user in the body; it is not part of the config.
            var updatedBy = config["_dashboardUserId"]?.GetValue<string>();
            config.Remove("_dashboardUserId");
            var saved = service.Save(guildId, config, updatedBy);
            return Results.Json(new { success = true, data = saved });
        });
    }

    private static bool IsGuildId(string value) => value.Length is > 0 and <= 20 && value.All(char.IsAsciiDigit);

    private static IResult BadRequest(string message) =>
        Results.Json(new { success = false, error = new { message } }, statusCode: StatusCodes.Status400BadRequest);
}
