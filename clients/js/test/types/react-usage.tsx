// Compiled (not run) by types.test.mjs: a dashboard's use of the React entry point under strict TypeScript.
import { ConnectionIndicator, LiveGuild, LiveUpdatesProvider, useGuildSubscription, useLiveUpdates, useRealtimeData, useRealtimeEvent, useWebSocket } from "../../dist/react/index.js";
import { LiveEvents, type ModerationRule } from "../../dist/index.js";

export function Layout({ children }: { children: React.ReactNode }) {
  return (
    <LiveUpdatesProvider url="ws://localhost:3002" getToken={async () => "token"}>
      <LiveUpdatesProvider url="ws://localhost:3002" tokenUrl="/api/live-token" />
      <LiveGuild guildId="123456789012345678">
        <ConnectionIndicator labels={{ live: "Connected" }} />
        {children}
      </LiveGuild>
    </LiveUpdatesProvider>
  );
}

export function Rules() {
  const { data, loading, error, setData } = useRealtimeData<ModerationRule[]>({
    path: "moderation/rules",
    events: [LiveEvents.Moderation.RuleCreated, LiveEvents.Moderation.RuleDeleted],
    onEvent: (event, data, current) => (event === LiveEvents.Moderation.RuleCreated ? [...current, data.rule as ModerationRule] : "refetch"),
  });
  // onEvent's data is typed by the event's name: narrowed by comparing event, never `any`.
  useRealtimeData<ModerationRule[]>({
    path: "moderation/rules",
    events: [LiveEvents.Moderation.RuleCreated, LiveEvents.Moderation.RuleDeleted],
    onEvent: (event, data, current) => {
      // @ts-expect-error — not narrowed yet: a rule_deleted payload has no `rule`
      void data.rule;
      if (event === LiveEvents.Moderation.RuleDeleted) {
        const id: string = data.ruleId;
        // @ts-expect-error — a rule_deleted payload has no `rule`
        void data.rule;
        return current.filter((r) => r.id !== id);
      }
      if (event === LiveEvents.Moderation.RuleCreated) return [...current, data.rule];
      return "refetch";
    },
    initialData: [],
    throwOnError: true,
  });
  const { state, error: refusal } = useGuildSubscription();
  const refusedState: "idle" | "pending" | "subscribed" | "refused" = state;
  const code: string | undefined = refusal?.code;
  void [refusedState, code];
  useRealtimeEvent(LiveEvents.Moderation.InfractionCreated, (data) => {
    const reason: string = data.infraction.reason;
    void reason;
  });
  // @ts-expect-error — not an event of the vocabulary
  useRealtimeEvent("moderation:rule_renamed", () => {});
  const { connected, status } = useLiveUpdates();
  const same: typeof useLiveUpdates = useWebSocket;
  void [same, setData, status];
  // error is an Error (RealtimeDataError: guildId, path, status), not a string
  if (error) {
    const failed: Error = error;
    const where: string = `${error.guildId}/${error.path}`;
    const status: number | undefined = error.status;
    void [failed, where, status];
    return <p>{error.message}</p>;
  }
  if (loading) return <p>Loading…</p>;
  return <ul data-connected={connected}>{(data ?? []).map((r) => <li key={r.id}>{r.name}</li>)}</ul>;
}
