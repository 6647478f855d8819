using System.Text.Json;
using System.Text.Json.Nodes;

namespace LiveUpdates.SampleHost.Plugins;

/// <summary>
/// What every plugin API of the sample shares: the bot's <c>{ success, data | error }</c> envelope, the guild id
/// check, and reading a JSON body with the dashboard's <c>_dashboardUserId</c> (the acting user, not part of the data).
/// </summary>
public static class Api
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>A route group under <c>/api/guilds/{guildId}/{plugin}</c> whose endpoints answer 400 for a guild id that is not a snowflake.</summary>
    public static RouteGroupBuilder MapGuildPlugin(this WebApplication app, string plugin) =>
        app.MapGroup($"/api/guilds/{{guildId}}/{plugin}").AddEndpointFilter(async (context, next) =>
        {
            var guildId = context.HttpContext.Request.RouteValues["guildId"] as string ?? "";
            return IsGuildId(guildId) ? await next(context) : BadRequest("guildId must be a Discord snowflake.");
        });

    public static IResult Ok(object? data) => Results.Json(new { success = true, data });

    public static IResult Created(object? data) => Results.Json(new { success = true, data }, statusCode: StatusCodes.Status201Created);

    public static IResult BadRequest(string message) =>
        Results.Json(new { success = false, error = new { message } }, statusCode: StatusCodes.Status400BadRequest);

    public static IResult NotFound(string what) =>
        Results.Json(new { success = false, error = new { message = $"{what} not found." } }, statusCode: StatusCodes.Status404NotFound);

    /// <summary>The body as a JSON object without its <c>_dashboardUserId</c>, which is returned apart; null object when the body is not a JSON object.</summary>
    public static async Task<(JsonObject? Body, string? ActingUser)> ReadObjectAsync(HttpRequest request)
    {
        JsonNode? node;
        try
        {
            node = await JsonNode.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
        }
        catch (JsonException)
        {
            return (null, null);
        }

        if (node is not JsonObject body)
        {
            return (null, null);
        }

        var actingUser = body["_dashboardUserId"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        body.Remove("_dashboardUserId");
        return (body, actingUser);
    }

    /// <summary>The body bound to <typeparamref name="T"/> (web JSON conventions) and the acting user; null when it is not a JSON object of that shape.</summary>
    public static async Task<(T? Value, string? ActingUser)> ReadAsync<T>(HttpRequest request)
        where T : class
    {
        var (body, actingUser) = await ReadObjectAsync(request);
        if (body is null)
        {
            return (null, null);
        }

        try
        {
            return (body.Deserialize<T>(Json), actingUser);
        }
        catch (JsonException)
        {
            return (null, actingUser);
        }
    }

    public static bool IsGuildId(string value) => value.Length is > 0 and <= 20 && value.All(char.IsAsciiDigit);
}
