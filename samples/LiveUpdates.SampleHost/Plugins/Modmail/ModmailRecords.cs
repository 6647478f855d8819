using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Modmail;

/// <summary>A modmail conversation between a member (by DM) and the staff. <see cref="Status"/>: <c>open</c>, <c>claimed</c> or <c>closed</c>.</summary>
public sealed record ModmailConversation(
    string Id,
    string UserId,
    string UserName,
    string Status,
    string? ClaimedBy,
    int MessageCount,
    string LastMessagePreview,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastMessageAt,
    string? ClosedBy,
    DateTimeOffset? ClosedAt,
    string? CloseReason) : IGuildRecord;

/// <summary>One message of a conversation: from the member (<see cref="FromStaff"/> false) or a staff reply.</summary>
public sealed record ModmailMessage(
    string Id,
    string ConversationId,
    string AuthorId,
    string AuthorName,
    string Content,
    bool FromStaff,
    DateTimeOffset CreatedAt) : IGuildRecord;

/// <summary>How a closed conversation went.</summary>
public sealed record ConversationMetrics(long DurationMs, int MessageCount, int StaffMessageCount);

/// <summary>Payload of <c>modmail:conversation_created</c>: the new conversation and the DM that opened it.</summary>
[LiveEventPayload(LiveEvents.Modmail.ConversationCreated)]
public sealed record ConversationCreated(ModmailConversation Conversation, ModmailMessage Message);

/// <summary>Payload of <c>modmail:message_received</c> (a member's DM relayed) and <c>modmail:message_sent</c> (a staff reply relayed).</summary>
[LiveEventPayload(LiveEvents.Modmail.MessageReceived)]
[LiveEventPayload(LiveEvents.Modmail.MessageSent)]
public sealed record ModmailMessageRelayed(ModmailConversation Conversation, ModmailMessage Message);

/// <summary>Payload of <c>modmail:conversation_claimed</c>.</summary>
[LiveEventPayload(LiveEvents.Modmail.ConversationClaimed)]
public sealed record ConversationClaimed(ModmailConversation Conversation, string ClaimedBy);

/// <summary>Payload of <c>modmail:conversation_closed</c>.</summary>
[LiveEventPayload(LiveEvents.Modmail.ConversationClosed)]
public sealed record ConversationClosed(ModmailConversation Conversation, ConversationMetrics Metrics);
