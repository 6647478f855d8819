namespace LiveUpdates.Mongo;

/// <summary>
/// Where the bot's <c>dashboardpermissions</c> collection lives, for the store added by
/// <c>AddMongoPermissionStore()</c>. Usually bound from <c>LiveUpdates:Mongo</c>; the environment variables
/// <c>MONGODB_URI</c> and <c>MONGODB_DATABASE</c> override the configuration, and code overrides both.
/// </summary>
public sealed class MongoPermissionStoreOptions
{
    /// <summary>The configuration section these options are usually bound from, below the <c>LiveUpdates</c> section: <c>LiveUpdates:Mongo</c>.</summary>
    public const string SectionName = "LiveUpdates:Mongo";

    /// <summary>Gets or sets the MongoDB connection string (environment variable <c>MONGODB_URI</c>). Required.</summary>
    /// <value>Default: none; the host fails at start-up until one is set.</value>
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
