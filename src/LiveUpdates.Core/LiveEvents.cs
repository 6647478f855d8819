namespace LiveUpdates;

/// <summary>
/// The event names of every plugin, <c>&lt;plugin&gt;:&lt;action&gt;</c>, grouped per plugin. Pass them to
/// <see cref="IBroadcaster.Broadcast(string, string, object?)"/>; the dashboard listens for the same strings.
/// </summary>
public static class LiveEvents
{
    /// <summary>Events of the <c>moderation</c> plugin.</summary>
    public static class Moderation
    {
        /// <summary>The plugin name, <c>moderation</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "moderation";

        /// <summary>Raised when the moderation config is saved through the config PUT API. Payload: the updated config object, as <c>{ config, updatedBy }</c>.</summary>
        public const string ConfigUpdated = "moderation:config_updated";

        /// <summary>Raised when an auto-mod rule is created. Payload: the new rule.</summary>
        public const string RuleCreated = "moderation:rule_created";

        /// <summary>Raised when a rule is updated or toggled. Payload: the updated rule and its changes.</summary>
        public const string RuleUpdated = "moderation:rule_updated";

        /// <summary>Raised when a rule is deleted. Payload: the deleted rule's id.</summary>
        public const string RuleDeleted = "moderation:rule_deleted";

        /// <summary>Raised when a preset is created. Payload: the new preset.</summary>
        public const string PresetCreated = "moderation:preset_created";

        /// <summary>Raised when a preset is updated. Payload: the updated preset.</summary>
        public const string PresetUpdated = "moderation:preset_updated";

        /// <summary>Raised when a preset is deleted. Payload: the deleted preset's id.</summary>
        public const string PresetDeleted = "moderation:preset_deleted";

        /// <summary>Raised when an infraction is raised by auto-mod or a moderator. Payload: the new infraction, as <c>{ infraction }</c>.</summary>
        public const string InfractionCreated = "moderation:infraction_created";

        /// <summary>Raised when an infraction is appealed or edited. Payload: the updated infraction.</summary>
        public const string InfractionUpdated = "moderation:infraction_updated";

        /// <summary>Raised when moderation statistics change (periodically or after an action). Payload: the updated statistics.</summary>
        public const string StatsUpdated = "moderation:stats_updated";
    }

    /// <summary>Events of the <c>modmail</c> plugin.</summary>
    public static class Modmail
    {
        /// <summary>The plugin name, <c>modmail</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "modmail";

        /// <summary>Raised when a user's DM opens a modmail conversation. Payload: the conversation.</summary>
        public const string ConversationCreated = "modmail:conversation_created";

        /// <summary>Raised when a conversation is claimed, or its priority or category changes. Payload: the conversation and its changes.</summary>
        public const string ConversationUpdated = "modmail:conversation_updated";

        /// <summary>Raised when staff close a conversation or it auto-closes. Payload: the conversation and its metrics.</summary>
        public const string ConversationClosed = "modmail:conversation_closed";

        /// <summary>Raised when a user's DM is relayed into a conversation. Payload: the message.</summary>
        public const string MessageReceived = "modmail:message_received";

        /// <summary>Raised when a staff reply is relayed to the user. Payload: the message.</summary>
        public const string MessageSent = "modmail:message_sent";

        /// <summary>Raised when a staff member claims a conversation. Payload: the claimer.</summary>
        public const string ConversationClaimed = "modmail:conversation_claimed";

        /// <summary>Raised when a staff member unclaims a conversation. Payload: the unclaimer.</summary>
        public const string ConversationUnclaimed = "modmail:conversation_unclaimed";

        /// <summary>Raised when the modmail config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "modmail:config_updated";

        /// <summary>Raised when after conversation lifecycle events. Payload: aggregate statistics.</summary>
        public const string StatsUpdated = "modmail:stats_updated";
    }

    /// <summary>Events of the <c>tickets</c> plugin.</summary>
    public static class Tickets
    {
        /// <summary>The plugin name, <c>tickets</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "tickets";

        /// <summary>Raised when a ticket is opened. Payload: the ticket.</summary>
        public const string TicketCreated = "tickets:ticket_created";

        /// <summary>Raised when a ticket is closed or resolved. Payload: the ticket and its metrics.</summary>
        public const string TicketClosed = "tickets:ticket_closed";

        /// <summary>Raised when a staff member claims a ticket. Payload: the ticket and its claimer.</summary>
        public const string TicketClaimed = "tickets:ticket_claimed";

        /// <summary>Raised when the tickets config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "tickets:config_updated";

        /// <summary>Raised when after ticket lifecycle events. Payload: aggregate statistics.</summary>
        public const string StatsUpdated = "tickets:stats_updated";
    }

    /// <summary>Events of the <c>suggestions</c> plugin.</summary>
    public static class Suggestions
    {
        /// <summary>The plugin name, <c>suggestions</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "suggestions";

        /// <summary>Raised when a suggestion is submitted. Payload: the suggestion.</summary>
        public const string SuggestionCreated = "suggestions:suggestion_created";

        /// <summary>Raised when a suggestion is approved, denied or implemented. Payload: the suggestion and its new status.</summary>
        public const string StatusChanged = "suggestions:status_changed";

        /// <summary>Raised when the suggestions config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "suggestions:config_updated";

        /// <summary>Raised when after suggestion lifecycle events. Payload: aggregate statistics.</summary>
        public const string StatsUpdated = "suggestions:stats_updated";
    }

    /// <summary>Events of the <c>tags</c> plugin.</summary>
    public static class Tags
    {
        /// <summary>The plugin name, <c>tags</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "tags";

        /// <summary>Raised when a tag is created. Payload: the new tag.</summary>
        public const string TagCreated = "tags:tag_created";

        /// <summary>Raised when a tag is updated. Payload: the updated tag.</summary>
        public const string TagUpdated = "tags:tag_updated";

        /// <summary>Raised when a tag is deleted. Payload: the deleted tag's id.</summary>
        public const string TagDeleted = "tags:tag_deleted";
    }

    /// <summary>Events of the <c>logging</c> plugin.</summary>
    public static class Logging
    {
        /// <summary>The plugin name, <c>logging</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "logging";

        /// <summary>Raised when the logging config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "logging:config_updated";
    }

    /// <summary>Events of the <c>welcome</c> plugin.</summary>
    public static class Welcome
    {
        /// <summary>The plugin name, <c>welcome</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "welcome";

        /// <summary>Raised when the welcome config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "welcome:config_updated";
    }

    /// <summary>Events of the <c>tempvc</c> plugin.</summary>
    public static class TempVc
    {
        /// <summary>The plugin name, <c>tempvc</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "tempvc";

        /// <summary>Raised when the temporary voice channel config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "tempvc:config_updated";

        /// <summary>Raised when a user creates a temporary voice channel. Payload: the channel.</summary>
        public const string ChannelCreated = "tempvc:channel_created";

        /// <summary>Raised when a temporary voice channel is deleted automatically. Payload: the channel id.</summary>
        public const string ChannelDeleted = "tempvc:channel_deleted";

        /// <summary>Raised when after temporary channel lifecycle events. Payload: aggregate statistics.</summary>
        public const string StatsUpdated = "tempvc:stats_updated";
    }

    /// <summary>Events of the <c>minecraft</c> plugin.</summary>
    public static class Minecraft
    {
        /// <summary>The plugin name, <c>minecraft</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "minecraft";

        /// <summary>Raised when the Minecraft server status poll reports a change. Payload: the server status.</summary>
        public const string StatusUpdated = "minecraft:status_updated";

        /// <summary>Raised when a player link request is approved. Payload: the player.</summary>
        public const string PlayerLinked = "minecraft:player_linked";

        /// <summary>Raised when the Minecraft config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "minecraft:config_updated";
    }

    /// <summary>Events of the <c>attachment-blocker</c> plugin.</summary>
    public static class AttachmentBlocker
    {
        /// <summary>The plugin name, <c>attachment-blocker</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "attachment-blocker";

        /// <summary>Raised when the attachment blocker config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "attachment-blocker:config_updated";
    }

    /// <summary>Events of the <c>reminders</c> plugin.</summary>
    public static class Reminders
    {
        /// <summary>The plugin name, <c>reminders</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "reminders";

        /// <summary>Raised when a reminder is created. Payload: the reminder.</summary>
        public const string ReminderCreated = "reminders:reminder_created";

        /// <summary>Raised when a reminder fires. Payload: the reminder id.</summary>
        public const string ReminderTriggered = "reminders:reminder_triggered";

        /// <summary>Raised when a reminder is deleted. Payload: the reminder id.</summary>
        public const string ReminderDeleted = "reminders:reminder_deleted";
    }

    /// <summary>Events of the <c>vc-transcription</c> plugin.</summary>
    public static class VcTranscription
    {
        /// <summary>The plugin name, <c>vc-transcription</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "vc-transcription";

        /// <summary>Raised when the voice transcription config changes through the dashboard. Payload: a config snapshot.</summary>
        public const string ConfigUpdated = "vc-transcription:config_updated";
    }

    /// <summary>Events of the <c>dashboard</c> plugin.</summary>
    public static class Dashboard
    {
        /// <summary>The plugin name, <c>dashboard</c>: the part of its event names before the colon.</summary>
        public const string Plugin = "dashboard";

        /// <summary>Raised when dashboard permissions change for the guild. Payload: the updated permissions.</summary>
        public const string PermissionsUpdated = "dashboard:permissions_updated";

        /// <summary>
        /// Raised when one member's access to the guild may have changed (they left, were banned, their roles changed).
        /// Payload: <c>{ "userId": "…" }</c>. Every server instance re-checks that user's subscriptions to the guild
        /// where it meets this event in the guild's stream; <see cref="WebSocketManager.InvalidateMemberAccessAsync(string, string, CancellationToken)"/> raises it.
        /// </summary>
        public const string MemberAccessUpdated = "dashboard:member_access_updated";

        /// <summary>Raised when dashboard settings change. Payload: the updated settings.</summary>
        public const string SettingsUpdated = "dashboard:settings_updated";
    }
}
