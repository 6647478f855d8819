"use client";
// A thin React layer over live-updates.js for a Next.js (App Router) dashboard, mirroring the seed plan's
// section 6: <LiveUpdatesProvider> (the seed's WebSocketProvider), useWebSocket(), useRealtimeData(),
// useRealtimeEvent() and <ConnectionIndicator>. Copy it into the dashboard (e.g. app/lib/live-updates.tsx) next to
// live-updates.js / live-events.js. A sample file: React and Next.js are not dependencies of this repository, and
// nothing here runs in its tests; every piece of logic it relies on is in live-updates.js, which is tested.
//
//   // app/layout.tsx
//   <SessionProvider>
//     <LiveUpdatesProvider getToken={getLiveToken}>{children}</LiveUpdatesProvider>
//   </SessionProvider>
//
//   // a page under app/[guildId]/
//   const { data: rules } = useRealtimeData<ModerationRule[]>({
//     path: "moderation/rules",
//     events: [LiveEvents.Moderation.RuleCreated, LiveEvents.Moderation.RuleUpdated, LiveEvents.Moderation.RuleDeleted],
//   });
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useParams } from "next/navigation";
import { LiveUpdatesClient, Status, type ConnectionStatus, type FetchData, type LiveEventName, type LiveEventPayloads } from "../live-updates.js";

interface LiveUpdatesContextValue {
  client: LiveUpdatesClient | null;
  /** Whether the WebSocket is connected and authenticated. */
  connected: boolean;
  status: ConnectionStatus;
}

const LiveUpdatesContext = createContext<LiveUpdatesContextValue>({ client: null, connected: false, status: Status.Connecting });

export interface LiveUpdatesProviderProps {
  children: ReactNode;
  /**
   * Returns the user's session token (called on every connect, so it may return a fresh one). The NextAuth/Auth.js
   * session cookie is httpOnly: serve it from a route handler of the dashboard, see the README.
   */
  getToken: () => string | Promise<string>;
  /** Default: NEXT_PUBLIC_WS_URL, else ws://localhost:3002. */
  url?: string;
  /** How useRealtimeData fetches `path` of a guild; default GET /api/guilds/{guildId}/{path} on this origin, unwrapping { success, data }. */
  fetchData?: FetchData;
}

/** One WebSocket per browser tab, shared by every component (the seed's WebSocketProvider). */
export function LiveUpdatesProvider({ children, getToken, url, fetchData }: LiveUpdatesProviderProps) {
  const tokenRef = useRef(getToken);
  tokenRef.current = getToken;
  const [client] = useState(() =>
    typeof window === "undefined"
      ? null
      : new LiveUpdatesClient({
          url: url ?? process.env.NEXT_PUBLIC_WS_URL ?? "ws://localhost:3002",
          token: () => tokenRef.current(),
          fetchData,
        }),
  );
  const [status, setStatus] = useState<ConnectionStatus>(client?.status ?? Status.Connecting);

  useEffect(() => {
    if (!client) return;
    const off = client.onStatus((s) => setStatus(s));
    client.connect();
    return () => {
      off();
      client.close();
    };
  }, [client]);

  const value = useMemo(() => ({ client, status, connected: status === Status.Live }), [client, status]);
  return <LiveUpdatesContext.Provider value={value}>{children}</LiveUpdatesContext.Provider>;
}

/** The seed's useWebSocket(): connection state, per-event subscription, and reference-counted guild joins. */
export function useWebSocket() {
  const { client, connected, status } = useContext(LiveUpdatesContext);
  const subscribe = useCallback(
    <E extends LiveEventName>(guildId: string, event: E, handler: (data: LiveEventPayloads[E]) => void) =>
      client ? client.on(guildId, event, (data) => handler(data)) : () => {},
    [client],
  );
  const joinGuild = useCallback((guildId: string) => (client ? client.joinGuild(guildId) : () => {}), [client]);
  const leaveGuild = useCallback((guildId: string) => client?.leaveGuild(guildId), [client]);
  return { client, connected, status, subscribe, joinGuild, leaveGuild };
}

export interface UseRealtimeDataOptions<T> {
  /** API path relative to /api/guilds/:guildId/. */
  path: string;
  /** WS events that change this data. */
  events: readonly LiveEventName[];
  /** Patch state from an event instead of refetching: return the new data, or "refetch". */
  onEvent?: (event: LiveEventName, data: any, current: T) => T | "refetch";
  /** Whether to skip fetching (e.g. until a tab is opened). */
  skip?: boolean;
}

/**
 * The seed's useRealtimeData(): fetches on mount, joins the guild's room (reference counted), patches or refetches on
 * events, and refetches after every reconnect whose recovery failed (`subscribed` with `recovered: false`).
 */
export function useRealtimeData<T>({ path, events, onEvent, skip }: UseRealtimeDataOptions<T>) {
  const { guildId } = useParams<{ guildId: string }>();
  const { client } = useContext(LiveUpdatesContext);
  const [state, setState] = useState<{ data: T | null; loading: boolean; error: string | null }>({ data: null, loading: !skip, error: null });
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;
  const handleRef = useRef<ReturnType<LiveUpdatesClient["realtimeData"]> | null>(null);
  const eventsKey = events.join(",");

  useEffect(() => {
    if (!client || !guildId || skip) return;
    const handle = client.realtimeData<T>({
      guildId,
      path,
      events,
      onEvent: onEventRef.current ? (event, data, current) => onEventRef.current!(event, data, current) : undefined,
      onChange: (s) => setState(s),
    });
    handleRef.current = handle;
    return () => {
      handle.stop();
      handleRef.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- events compared by value
  }, [client, guildId, path, eventsKey, skip]);

  const refetch = useCallback(() => handleRef.current?.refetch() ?? Promise.resolve(), []);
  const setData = useCallback((data: T) => setState((s) => ({ ...s, data })), []);
  return { ...state, refetch, setData };
}

/** The seed's useRealtimeEvent(): listens to one event of the current guild (e.g. for a toast). */
export function useRealtimeEvent<E extends LiveEventName>(event: E, handler: (data: LiveEventPayloads[E]) => void) {
  const { guildId } = useParams<{ guildId: string }>();
  const { client } = useContext(LiveUpdatesContext);
  const handlerRef = useRef(handler);
  handlerRef.current = handler;

  useEffect(() => {
    if (!client || !guildId) return;
    const leave = client.joinGuild(guildId);
    const off = client.on(guildId, event, (data) => handlerRef.current(data));
    return () => {
      off();
      leave();
    };
  }, [client, guildId, event]);
}

/** The seed's section 6.6 status dot: "Live" or "Reconnecting…". */
export function ConnectionIndicator() {
  const { connected, status } = useWebSocket();
  return (
    <div className="flex items-center gap-1.5 text-xs text-zinc-400">
      <div className={`w-2 h-2 rounded-full ${connected ? "bg-green-500" : "bg-red-500 animate-pulse"}`} />
      {connected ? "Live" : status === Status.Connecting ? "Connecting…" : "Reconnecting…"}
    </div>
  );
}
