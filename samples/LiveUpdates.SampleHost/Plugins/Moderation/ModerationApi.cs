namespace LiveUpdates.SampleHost.Plugins.Moderation;

/// <summary>The moderation plugin's HTTP routes, mirroring the bot's <c>/api/guilds/{guildId}/moderation/…</c>.</summary>
public static class ModerationApi
{
    private const string NotAnObject = "The body must be a JSON object.";

    public static void MapModerationApi(this WebApplication app)
    {
        var group = app.MapGuildPlugin("moderation");

        group.MapGet("/config", (string guildId, ModerationConfigService service) => Api.Ok(service.Get(guildId)));

        group.MapPut("/config", async (string guildId, HttpRequest request, ModerationConfigService service) =>
        {
            // As in the seed, the dashboard names the acting user in the body; it is not part of the config.
            var (config, updatedBy) = await Api.ReadObjectAsync(request);
            return config is null ? Api.BadRequest(NotAnObject) : Api.Ok(service.Save(guildId, config, updatedBy));
        });

        group.MapGet("/rules", (string guildId, ModerationRulesService rules) => Api.Ok(rules.List(guildId)));

        group.MapPost("/rules", async (string guildId, HttpRequest request, ModerationRulesService rules) =>
        {
            var (draft, createdBy) = await Api.ReadAsync<RuleDraft>(request);
            if (draft is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            return ModerationRulesService.Validate(draft) is { } error ? Api.BadRequest(error) : Api.Created(rules.Create(guildId, draft, createdBy));
        });

        group.MapPatch("/rules/{ruleId}", async (string guildId, string ruleId, HttpRequest request, ModerationRulesService rules) =>
        {
            var (patch, updatedBy) = await Api.ReadAsync<RulePatch>(request);
            if (patch is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            if (ModerationRulesService.Validate(patch) is { } error)
            {
                return Api.BadRequest(error);
            }

            return rules.Update(guildId, ruleId, patch, updatedBy) is { } rule ? Api.Ok(rule) : Api.NotFound("Rule");
        });

        group.MapDelete("/rules/{ruleId}", (string guildId, string ruleId, string? dashboardUserId, ModerationRulesService rules) =>
            rules.Delete(guildId, ruleId, dashboardUserId) ? Api.Ok(new { id = ruleId }) : Api.NotFound("Rule"));

        group.MapGet("/infractions", (string guildId, int? limit, InfractionService infractions) =>
            Api.Ok(infractions.Recent(guildId, Math.Clamp(limit ?? 50, 1, 200))));

        // A moderator's manual action (warn, mute, …) recorded through the dashboard.
        group.MapPost("/infractions", async (string guildId, HttpRequest request, InfractionService infractions) =>
        {
            var (draft, moderatorId) = await Api.ReadAsync<InfractionDraft>(request);
            if (draft is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            if (InfractionService.Validate(draft) is { } error)
            {
                return Api.BadRequest(error);
            }

            // The moderator is the acting user the dashboard set from the session, never a body field it passed on.
            draft = draft with { ModeratorId = moderatorId };
            return Api.Created(infractions.Create(guildId, draft, source: "manual"));
        });
    }
}
