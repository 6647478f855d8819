using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Tags;

/// <summary>A tag: a saved answer members call up by <see cref="Name"/>.</summary>
public sealed record Tag(string Id, string Name, string Content, string? CreatedBy, DateTimeOffset UpdatedAt) : IGuildRecord;

/// <summary>Payload of <c>tags:tag_created</c> and <c>tags:tag_updated</c>.</summary>
[LiveEventPayload(LiveEvents.Tags.TagCreated)]
[LiveEventPayload(LiveEvents.Tags.TagUpdated)]
public sealed record TagChanged(Tag Tag);

/// <summary>Payload of <c>tags:tag_deleted</c>.</summary>
[LiveEventPayload(LiveEvents.Tags.TagDeleted)]
public sealed record TagDeleted(string TagId);
