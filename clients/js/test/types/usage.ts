// Compiled (not run) by types.test.mjs: what a dashboard written in TypeScript may and may not do with the client.
import { LiveUpdatesClient, Status, type ConnectionStatus, type LiveEventPayloads, type RealtimeData } from "../../dist/index.js";
import { LiveEvents, LiveEventNames, type LiveEventName, type ModerationRule, type ModmailConversation } from "../../live-events.js";

declare const WebSocketImpl: new (url: string) => WebSocket;

const client = new LiveUpdatesClient({
  url: "ws://localhost:3002",
  token: async () => "session-token",
  WebSocket: WebSocketImpl,
  backoff: { initialMs: 250, maxMs: 10000 },
});
client.connect();

const leave: () => void = client.joinGuild("123456789012345678");
leave();

// Per-event listeners get the payload declared in C#.
client.on("123456789012345678", LiveEvents.Moderation.RuleCreated, (data, envelope) => {
  const rule: ModerationRule = data.rule;
  const seq: number = envelope.seq;
  const name: string = rule.name;
  void [seq, name];
});
client.on("1", "modmail:conversation_claimed", (data) => {
  const conversation: ModmailConversation = data.conversation;
  const who: string = data.claimedBy;
  void [conversation, who];
});
client.on("1", "*", (e) => {
  const event: LiveEventName = e.event;
  void event;
});

// @ts-expect-error — not an event of the vocabulary
client.on("1", "moderation:rule_renamed", () => {});

// @ts-expect-error — the payload of rule_deleted has ruleId, not rule
client.on("1", LiveEvents.Moderation.RuleDeleted, (data) => data.rule);

// Events with no C# payload record are `unknown` and must be narrowed.
client.on("1", LiveEvents.Tickets.TicketCreated, (data) => {
  // @ts-expect-error — unknown payload
  void data.ticketId;
});

const status: ConnectionStatus = client.status;
const live: boolean = status === Status.Live && client.connected;
void live;

const rules: RealtimeData<ModerationRule[]> = client.realtimeData<ModerationRule[]>({
  guildId: "1",
  path: "moderation/rules",
  events: [LiveEvents.Moderation.RuleCreated, LiveEvents.Moderation.RuleDeleted],
  onEvent: (event, data, current) =>
    event === LiveEvents.Moderation.RuleCreated ? [...current, (data as LiveEventPayloads["moderation:rule_created"]).rule] : "refetch",
});
rules.stop();

const all: readonly LiveEventName[] = LiveEventNames;
void all;
