using LiveUpdates.Security;

namespace LiveUpdates.Internal.Subscriptions;

/// <summary>One guild a connection is subscribed to, with what the user may see of it (replaced when permissions change).</summary>
internal sealed record Subscription(string GuildId, GuildAccess Access);
