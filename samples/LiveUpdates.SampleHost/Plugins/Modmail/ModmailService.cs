using LiveUpdates.SampleHost.Data;

namespace LiveUpdates.SampleHost.Plugins.Modmail;

/// <summary>What happened to a modmail request.</summary>
public enum ModmailOutcome
{
    Done,
    NotFound,
    Closed,
}

/// <summary>
/// The modmail lifecycle: a DM opens a conversation, messages are relayed both ways, staff claim and close it.
/// Each method writes, then makes one call to <see cref="ModmailWebSocketService"/>.
/// </summary>
public sealed class ModmailService(SampleDatabase db, ModmailWebSocketService ws, TimeProvider time)
{
    private const int PreviewLength = 120;

    /// <summary>Conversations, most recent activity first; closed ones only when <paramref name="includeClosed"/>.</summary>
    public IReadOnlyList<ModmailConversation> List(string guildId, bool includeClosed) =>
        db.Conversations.List(guildId)
            .Where(c => includeClosed || c.Status != "closed")
            .OrderByDescending(c => c.LastMessageAt)
            .ToList();

    public (ModmailConversation Conversation, IReadOnlyList<ModmailMessage> Messages)? Get(string guildId, string conversationId) =>
        db.Conversations.Find(guildId, conversationId) is { } c
            ? (c, db.Messages.List(guildId).Where(m => m.ConversationId == conversationId).ToList())
            : null;

    /// <summary>A member's DM to the bot opens a conversation.</summary>
    public ModmailConversation Open(string guildId, string userId, string userName, string content)
    {
        var now = time.GetUtcNow();
        var id = db.NewId();
        var message = db.Messages.Upsert(guildId, new ModmailMessage(db.NewId(), id, userId, userName, content, FromStaff: false, now));
        var conversation = db.Conversations.Upsert(guildId, new ModmailConversation(
            id, userId, userName, "open", ClaimedBy: null, MessageCount: 1, Preview(content), now, now, null, null, null));

        ws.ConversationCreated(guildId, conversation, message);
        return conversation;
    }

    /// <summary>Relays a message: a member's DM (<paramref name="fromStaff"/> false) or a staff reply.</summary>
    public (ModmailOutcome Outcome, ModmailMessage? Message) Relay(string guildId, string conversationId, string authorId, string authorName, string content, bool fromStaff)
    {
        var now = time.GetUtcNow();
        var message = new ModmailMessage(db.NewId(), conversationId, authorId, authorName, content, fromStaff, now);
        var outcome = ModmailOutcome.Done;
        var conversation = db.Conversations.Update(guildId, conversationId, c =>
        {
            if (c.Status == "closed")
            {
                outcome = ModmailOutcome.Closed;
                return c;
            }

            outcome = ModmailOutcome.Done;
            db.Messages.Upsert(guildId, message);
            return c with { MessageCount = c.MessageCount + 1, LastMessagePreview = Preview(content), LastMessageAt = now };
        });

        if (conversation is null)
        {
            return (ModmailOutcome.NotFound, null);
        }

        if (outcome != ModmailOutcome.Done)
        {
            return (outcome, null);
        }

        if (fromStaff)
        {
            ws.MessageSent(guildId, conversation, message);
        }
        else
        {
            ws.MessageReceived(guildId, conversation, message);
        }

        return (outcome, message);
    }

    public (ModmailOutcome Outcome, ModmailConversation? Conversation) Claim(string guildId, string conversationId, string staffId)
    {
        var outcome = ModmailOutcome.Done;
        var conversation = db.Conversations.Update(guildId, conversationId, c =>
        {
            outcome = c.Status == "closed" ? ModmailOutcome.Closed : ModmailOutcome.Done;
            return outcome == ModmailOutcome.Done ? c with { Status = "claimed", ClaimedBy = staffId } : c;
        });

        if (conversation is null || outcome != ModmailOutcome.Done)
        {
            return (conversation is null ? ModmailOutcome.NotFound : outcome, conversation);
        }

        ws.ConversationClaimed(guildId, conversation, staffId);
        return (outcome, conversation);
    }

    public (ModmailOutcome Outcome, ModmailConversation? Conversation) Close(string guildId, string conversationId, string staffId, string? reason)
    {
        var now = time.GetUtcNow();
        var outcome = ModmailOutcome.Done;
        var conversation = db.Conversations.Update(guildId, conversationId, c =>
        {
            outcome = c.Status == "closed" ? ModmailOutcome.Closed : ModmailOutcome.Done;
            return outcome == ModmailOutcome.Done ? c with { Status = "closed", ClosedBy = staffId, ClosedAt = now, CloseReason = reason } : c;
        });

        if (conversation is null || outcome != ModmailOutcome.Done)
        {
            return (conversation is null ? ModmailOutcome.NotFound : outcome, conversation);
        }

        var staffMessages = db.Messages.List(guildId).Count(m => m.ConversationId == conversationId && m.FromStaff);
        ws.ConversationClosed(guildId, conversation, new ConversationMetrics(
            (long)(now - conversation.CreatedAt).TotalMilliseconds, conversation.MessageCount, staffMessages));
        return (outcome, conversation);
    }

    private static string Preview(string content) => content.Length <= PreviewLength ? content : content[..PreviewLength] + "…";
}
