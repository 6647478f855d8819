namespace LiveUpdates.SampleHost.Plugins.Modmail;

/// <summary>
/// The modmail plugin's emitter, shaped like the seed's <c>ModmailWebSocketService</c>: it was written against a
/// Socket.IO-style server (<c>io.to("guild:{id}").emit(event, data)</c>), and <see cref="IBroadcaster.To(string)"/>
/// is that adapter, so the service keeps its shape and only its constructor argument changes.
/// </summary>
public sealed class ModmailWebSocketService(IBroadcaster io)
{
    public void ConversationCreated(string guildId, ModmailConversation conversation, ModmailMessage message) =>
        Room(guildId).Emit(LiveEvents.Modmail.ConversationCreated, new ConversationCreated(conversation, message));

    public void MessageReceived(string guildId, ModmailConversation conversation, ModmailMessage message) =>
        Room(guildId).Emit(LiveEvents.Modmail.MessageReceived, new ModmailMessageRelayed(conversation, message));

    public void MessageSent(string guildId, ModmailConversation conversation, ModmailMessage message) =>
        Room(guildId).Emit(LiveEvents.Modmail.MessageSent, new ModmailMessageRelayed(conversation, message));

    public void ConversationClaimed(string guildId, ModmailConversation conversation, string claimedBy) =>
        Room(guildId).Emit(LiveEvents.Modmail.ConversationClaimed, new ConversationClaimed(conversation, claimedBy));

    public void ConversationClosed(string guildId, ModmailConversation conversation, ConversationMetrics metrics) =>
        Room(guildId).Emit(LiveEvents.Modmail.ConversationClosed, new ConversationClosed(conversation, metrics));

    private IRoomEmitter Room(string guildId) => io.To($"guild:{guildId}");
}
