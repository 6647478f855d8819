namespace LiveUpdates.Hosting;

/// <summary>
/// Where the bot's <c>dashboardpermissions</c> collection lives. Bound from <c>LiveUpdates:Mongo</c>; the environment
/// variables <c>MONGODB_URI</c> and <c>MONGODB_DATABASE</c> override it. With no connection string no MongoDB is used:
/// no role has overrides, so guild owners and administrators see everything and other members nothing.
/// </summary>
public sealed class LiveUpdatesMongoOptions
{
    /// <summary>Gets or sets the MongoDB connection string (environment variable <c>MONGODB_URI</c>).</summary>
    /// <value>Default: none (no MongoDB).</value>
    public string? ConnectionString { get; set; }

    /// <summary>Gets or sets the database (environment variable <c>MONGODB_DATABASE</c>); when empty, the database named in the connection string.</summary>
    /// <value>Default: none.</value>
    public string? DatabaseName { get; set; }

    /// <summary>Gets or sets the collection of <c>DashboardPermission</c> documents.</summary>
    /// <value>Default: <c>dashboardpermissions</c> (Mongoose's name for the <c>DashboardPermission</c> model).</value>
    public string CollectionName { get; set; } = "dashboardpermissions";

    /// <summary>Gets or sets how long a guild's documents are cached. A permission change announced with <c>dashboard:permissions_updated</c> (or <c>InvalidateGuildAccessAsync</c>) drops the cache at once.</summary>
    /// <value>Default: 30 seconds.</value>
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromSeconds(30);
}
