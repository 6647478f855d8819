"use client";
// React bindings of @liveupdates/client (React 18 or later): one connection per tab in <LiveUpdatesProvider>, the
// current guild in <LiveGuild>, and hooks that join and leave guilds with their components. Safe under Strict Mode's
// double effects (a connection is closed a tick after its provider unmounts, so a remount keeps it) and under fast
// guild switches (each effect undoes exactly its own join and listener; data of the previous guild is never shown
// as the new one's).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { LiveEventName, LiveEventPayloads, LiveEventEnvelope } from "../../live-events.js";
import { LiveUpdatesClient, Status, type LiveUpdatesOptions } from "../client.js";
import type { ConnectionStatus, TokenSource } from "../connection.js";

const ClientContext = createContext<LiveUpdatesClient | null>(null);
const GuildContext = createContext<string | null>(null);

export interface LiveUpdatesProviderProps extends Partial<Omit<LiveUpdatesOptions, "url" | "token">> {
  children?: ReactNode;
  /** The WebSocket server. Default `ws://localhost:3002`; in Next.js pass e.g. `process.env.NEXT_PUBLIC_WS_URL`. */
  url?: string;
  /**
   * Returns the signed-in user's session token; called on every (re)authentication, so it may return a fresh one.
   * The NextAuth/Auth.js session cookie is httpOnly: serve its value from a route handler (see the README).
   */
  getToken?: () => string | Promise<string>;
  /** A fixed token instead of getToken. */
  token?: TokenSource;
  /** Use this client instead of creating one (the provider then still connects and closes it). */
  client?: LiveUpdatesClient;
}

/**
 * One WebSocket per browser tab, shared by every component below it (the seed's WebSocketProvider). The options
 * are read once, when the client is created; getToken is always the latest one. Renders nothing special on the
 * server (no connection there).
 */
export function LiveUpdatesProvider({ children, client: given, url, getToken, token, ...options }: LiveUpdatesProviderProps) {
  const tokenRef = useRef<TokenSource | undefined>(getToken ?? token);
  tokenRef.current = getToken ?? token;
  const [client] = useState<LiveUpdatesClient | null>(() => {
    if (given) return given;
    if (typeof window === "undefined" && !options.WebSocket) return null; // server rendering
    return new LiveUpdatesClient({
      ...options,
      url: url ?? "ws://localhost:3002",
      token: () => {
        const t = tokenRef.current;
        if (t === undefined) throw new Error("LiveUpdatesProvider: pass getToken (or token)");
        return typeof t === "function" ? t() : t;
      },
    });
  });
  const pendingClose = useRef<ReturnType<typeof setTimeout> | null>(null);

  useEffect(() => {
    if (!client) return;
    if (pendingClose.current !== null) {
      clearTimeout(pendingClose.current); // Strict Mode's remount: keep the connection of the first mount
      pendingClose.current = null;
    }
    client.connect();
    return () => {
      pendingClose.current = setTimeout(() => {
        pendingClose.current = null;
        client.close();
      }, 0);
    };
  }, [client]);

  return <ClientContext.Provider value={client}>{children}</ClientContext.Provider>;
}

/** Sets the guild the hooks below it use (e.g. in `app/guilds/[guildId]/layout.tsx`) and keeps it joined while mounted. */
export function LiveGuild({ guildId, children }: { guildId: string; children?: ReactNode }) {
  const client = useContext(ClientContext);
  useEffect(() => (client ? client.joinGuild(guildId) : undefined), [client, guildId]);
  return <GuildContext.Provider value={guildId}>{children}</GuildContext.Provider>;
}

/** The guild of the nearest <LiveGuild>, or null. */
export function useGuildId(): string | null {
  return useContext(GuildContext);
}

const noop = () => {};
const serverStatus = (): ConnectionStatus => Status.Connecting;

/** The connection's status, re-rendering on every change. */
export function useConnectionStatus(): ConnectionStatus {
  const client = useContext(ClientContext);
  const subscribe = useCallback((onChange: () => void) => (client ? client.onStatus(onChange) : noop), [client]);
  return useSyncExternalStore(subscribe, () => client?.status ?? Status.Connecting, serverStatus);
}

export interface LiveUpdatesHandle {
  /** The client (null during server rendering or outside a provider). */
  client: LiveUpdatesClient | null;
  /** Open and authenticated. */
  connected: boolean;
  status: ConnectionStatus;
  /** Listens to one event of a guild; returns the function that removes the listener. */
  subscribe<E extends LiveEventName>(guildId: string, event: E, handler: (data: LiveEventPayloads[E], envelope: LiveEventEnvelope<E>) => void): () => void;
  /** Joins a guild (reference counted); returns the function that leaves it. */
  joinGuild(guildId: string): () => void;
  leaveGuild(guildId: string): void;
}

/** The seed's useWebSocket(): the connection state, per-event listeners and reference-counted guild joins. */
export function useLiveUpdates(): LiveUpdatesHandle {
  const client = useContext(ClientContext);
  const status = useConnectionStatus();
  const subscribe = useCallback(
    <E extends LiveEventName>(guildId: string, event: E, handler: (data: LiveEventPayloads[E], envelope: LiveEventEnvelope<E>) => void) =>
      client ? client.on(guildId, event, handler) : noop,
    [client],
  );
  const joinGuild = useCallback((guildId: string) => (client ? client.joinGuild(guildId) : noop), [client]);
  const leaveGuild = useCallback((guildId: string) => client?.leaveGuild(guildId), [client]);
  return useMemo(
    () => ({ client, status, connected: status === Status.Live, subscribe, joinGuild, leaveGuild }),
    [client, status, subscribe, joinGuild, leaveGuild],
  );
}

/** The seed's name for useLiveUpdates(). */
export const useWebSocket = useLiveUpdates;

export interface UseRealtimeDataOptions<T> {
  /** API path relative to the guild, e.g. "moderation/rules". */
  path: string;
  /** Events that change this data. */
  events: readonly LiveEventName[];
  /** Patch the data from an event instead of refetching: return the new data, or "refetch". */
  onEvent?: (event: LiveEventName, data: any, current: T) => T | "refetch";
  /** Don't fetch (yet). */
  skip?: boolean;
  /** Default: the guild of the nearest <LiveGuild>. */
  guildId?: string;
}

export interface UseRealtimeDataResult<T> {
  data: T | null;
  loading: boolean;
  error: string | null;
  /** Fetch again now. */
  refetch(): Promise<void>;
  /** Replace the data locally (e.g. optimistically after a write); the next event or refetch wins. */
  setData(data: T): void;
}

interface KeyedState<T> {
  key: string;
  data: T | null;
  loading: boolean;
  error: string | null;
}

/**
 * The seed's useRealtimeData(): fetches on mount, joins the guild, patches or refetches on events, and refetches
 * whenever the event stream could not be recovered. Switching guild or path starts afresh (never shows the previous
 * guild's data as this one's).
 */
export function useRealtimeData<T>({ path, events, onEvent, skip = false, guildId }: UseRealtimeDataOptions<T>): UseRealtimeDataResult<T> {
  const client = useContext(ClientContext);
  const contextGuild = useContext(GuildContext);
  const gid = guildId ?? contextGuild;
  const eventsKey = events.join(",");
  const key = `${gid}\u0000${path}\u0000${eventsKey}`;
  const active = !!client && !!gid && !skip;
  const [state, setState] = useState<KeyedState<T>>({ key, data: null, loading: active, error: null });
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;
  const handleRef = useRef<ReturnType<LiveUpdatesClient["realtimeData"]> | null>(null);

  useEffect(() => {
    if (!client || !gid || skip) return;
    const handle = client.realtimeData<T>({
      guildId: gid,
      path,
      events: eventsKey === "" ? [] : (eventsKey.split(",") as LiveEventName[]),
      onEvent: (event, data, current) => (onEventRef.current ? onEventRef.current(event, data, current) : "refetch"),
      onChange: (s) => setState({ key, ...s }),
    });
    handleRef.current = handle;
    return () => {
      handle.stop();
      if (handleRef.current === handle) handleRef.current = null;
    };
  }, [client, gid, path, eventsKey, skip, key]);

  const refetch = useCallback(() => handleRef.current?.refetch() ?? Promise.resolve(), []);
  const setData = useCallback((data: T) => setState((s) => ({ ...s, data })), []);
  const current = state.key === key ? state : { key, data: null, loading: active, error: null };
  return { data: current.data, loading: skip ? false : current.loading, error: current.error, refetch, setData };
}

/** The seed's useRealtimeEvent(): calls the latest `handler` for each `event` of the guild (e.g. for a toast). */
export function useRealtimeEvent<E extends LiveEventName>(
  event: E,
  handler: (data: LiveEventPayloads[E], envelope: LiveEventEnvelope<E>) => void,
  options: { guildId?: string } = {},
): void {
  const client = useContext(ClientContext);
  const contextGuild = useContext(GuildContext);
  const gid = options.guildId ?? contextGuild;
  const handlerRef = useRef(handler);
  handlerRef.current = handler;

  useEffect(() => {
    if (!client || !gid) return;
    const leave = client.joinGuild(gid);
    const off = client.on(gid, event, (data, envelope) => handlerRef.current(data, envelope));
    return () => {
      off();
      leave();
    };
  }, [client, gid, event]);
}

const LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Offline",
};

export interface ConnectionIndicatorProps {
  className?: string;
  labels?: Partial<Record<ConnectionStatus, string>>;
}

/** The seed's status dot: "Live" / "Reconnecting…". Style it through `data-status` (connecting, live, reconnecting, closed). */
export function ConnectionIndicator({ className = "live-indicator", labels }: ConnectionIndicatorProps) {
  const status = useConnectionStatus();
  return (
    <span className={className} data-status={status} role="status" aria-live="polite">
      <span className={`${className}-dot`} aria-hidden="true" />
      <span className={`${className}-label`}>{labels?.[status] ?? LABELS[status]}</span>
    </span>
  );
}

export { Status };
export type { ConnectionStatus };
