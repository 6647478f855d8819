using System.Text.Json.Nodes;
using LiveUpdates.SampleHost.Data;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.SampleHost.Plugins.Modmail;
using LiveUpdates.SampleHost.Plugins.Tags;

namespace LiveUpdates.SampleHost.Bot;

/// <summary>A few records so that the dashboard page is not empty on first run. Written before the server starts: no events.</summary>
public static class SampleData
{
    public static void Seed(SampleDatabase db, TimeProvider time)
    {
        var now = time.GetUtcNow();
        var a = SampleHostApp.DevGuildId;
        if (db.Rules.List(a).Count > 0)
        {
            return; // already seeded: the database outlived a restart
        }

        db.ModerationConfigs[a] = new JsonObject { ["automod"] = true, ["maxMentions"] = 5, ["muteRole"] = "Muted" };
        db.Rules.Upsert(a, new ModerationRule(db.NewId(), "No invite links", "invite_links", null, "warn", 2, true, now, now));
        db.Rules.Upsert(a, new ModerationRule(db.NewId(), "Mention spam", "mention_spam", null, "mute", 3, true, now, now));
        db.Rules.Upsert(a, new ModerationRule(db.NewId(), "Blocked words", "keyword", "spoiler|scam", "warn", 1, false, now, now));
        db.Tags.Upsert(a, new Tag(db.NewId(), "rules", "Read #rules before posting.", SampleHostApp.DevUserId, now));
        db.Tags.Upsert(a, new Tag(db.NewId(), "faq", "Answers to common questions are in #faq.", SampleHostApp.DevUserId, now));
        var conversationId = db.NewId();
        db.Messages.Upsert(a, new ModmailMessage(db.NewId(), conversationId, "200000000000000007", "margaret", "Hello! Is the event still on tonight?", false, now));
        db.Conversations.Upsert(a, new ModmailConversation(conversationId, "200000000000000007", "margaret", "open", null, 1, "Hello! Is the event still on tonight?", now, now, null, null, null));

        var b = SampleHostApp.OtherDevGuildId;
        db.ModerationConfigs[b] = new JsonObject { ["automod"] = false, ["maxMentions"] = 10 };
        db.Rules.Upsert(b, new ModerationRule(db.NewId(), "Caps lock", "caps", null, "warn", 1, true, now, now));
    }
}
