namespace LiveUpdates.SampleHost.Plugins.Tags;

/// <summary>The tags plugin's HTTP routes, mirroring the bot's <c>/api/guilds/{guildId}/tags/…</c>.</summary>
public static class TagsApi
{
    private const string NotAnObject = "The body must be a JSON object.";

    public static void MapTagsApi(this WebApplication app)
    {
        var group = app.MapGuildPlugin("tags");

        group.MapGet("/", (string guildId, TagService tags) => Api.Ok(tags.List(guildId)));

        group.MapPost("/", async (string guildId, HttpRequest request, TagService tags) =>
        {
            var (draft, createdBy) = await Api.ReadAsync<TagDraft>(request);
            if (draft is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            if (TagService.Validate(draft, creating: true) is { } error)
            {
                return Api.BadRequest(error);
            }

            return tags.Create(guildId, draft.Name!, draft.Content!, createdBy) is { } tag
                ? Api.Created(tag)
                : Results.Json(new { success = false, error = new { message = $"A tag named '{draft.Name}' exists." } }, statusCode: StatusCodes.Status409Conflict);
        });

        group.MapPatch("/{tagId}", async (string guildId, string tagId, HttpRequest request, TagService tags) =>
        {
            var (draft, _) = await Api.ReadAsync<TagDraft>(request);
            if (draft is null)
            {
                return Api.BadRequest(NotAnObject);
            }

            if (TagService.Validate(draft, creating: false) is { } error)
            {
                return Api.BadRequest(error);
            }

            return tags.Update(guildId, tagId, draft) is { } tag ? Api.Ok(tag) : Api.NotFound("Tag");
        });

        group.MapDelete("/{tagId}", (string guildId, string tagId, TagService tags) =>
            tags.Delete(guildId, tagId) ? Api.Ok(new { id = tagId }) : Api.NotFound("Tag"));
    }
}
