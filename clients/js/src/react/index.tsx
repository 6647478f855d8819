"use client";
// React bindings of @liveupdates/client (React 18 or later): one connection per tab in <LiveUpdatesProvider>, the
// current guild in <LiveGuild>, and hooks that join and leave guilds with their components. Safe under Strict Mode's
// double effects (a connection is closed a tick after its provider unmounts, so a remount keeps it) and under fast
// guild switches (each effect undoes exactly its own join and listener; data of the previous guild is never shown
// as the new one's).
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore, type ReactNode } from "react";
import type { LiveEventName, LiveEventPayloads, LiveEventEnvelope } from "../../live-events.js";
import { LiveUpdatesClient, Status, type GuildState, type LiveUpdatesOptions } from "../client.js";
import type { ConnectionStatus, TokenSource } from "../connection.js";
import { SubscriptionError } from "../subscription.js";
import { RealtimeDataError } from "../realtime-data.js";

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
  /**
   * Instead of getToken: a same-origin route answering `{ token }` (e.g. "/api/live-token", made with
   * `createLiveTokenRoute` from "@liveupdates/client/next"). A plain string, so a Server Component can render the
   * provider. A non-2xx answer (401 once signed out) fails the authentication, and the client backs off.
   */
  tokenUrl?: string;
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
export function LiveUpdatesProvider({ children, client: given, url, getToken, tokenUrl, token, ...options }: LiveUpdatesProviderProps) {
  const source = getToken ?? (tokenUrl !== undefined ? () => fetchToken(tokenUrl) : token);
  const tokenRef = useRef<TokenSource | undefined>(source);
  tokenRef.current = source;
  const [client] = useState<LiveUpdatesClient | null>(() => {
    if (given) return given;
    if (typeof window === "undefined" && !options.WebSocket) return null; // server rendering
    return new LiveUpdatesClient({
      ...options,
      url: url ?? "ws://localhost:3002",
      token: () => {
        const t = tokenRef.current;
        if (t === undefined) throw new Error("LiveUpdatesProvider: pass getToken, tokenUrl or token");
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

/** GETs a token route: `{ token }` from a 2xx answer, else an error (the connection backs off and asks again later). */
async function fetchToken(tokenUrl: string): Promise<string> {
  const response = await fetch(tokenUrl, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = (await response.json().catch(() => null)) as { token?: unknown } | null;
  if (!response.ok || typeof body?.token !== "string") throw new Error(`${tokenUrl} answered ${response.status}`);
  return body.token;
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

/**
 * onEvent's arguments for one of the listed events: `(event, data, current)`, `data` typed by the event's name, so
 * that `event === LiveEvents.Moderation.RuleDeleted` narrows `data` to that event's payload.
 */
export type RealtimeEventArgs<T, E extends LiveEventName = LiveEventName> = {
  [K in E]: [event: K, data: LiveEventPayloads[K], current: T];
}[E];

export interface UseRealtimeDataOptions<T, E extends LiveEventName = LiveEventName> {
  /** API path relative to the guild, e.g. "moderation/rules". */
  path: string;
  /** Events that change this data. */
  events: readonly E[];
  /** Patch the data from an event instead of refetching: return the new data, or "refetch". `data` is typed by `event`. */
  onEvent?: (...args: RealtimeEventArgs<T, E>) => T | "refetch";
  /** Don't fetch (yet). */
  skip?: boolean;
  /**
   * Data the server fetched already (e.g. a Server Component passing it down): rendered at once, on the server and
   * in the browser (`loading: false`, no loading flash), not fetched again on mount; refetched once when the guild's
   * subscription is confirmed, so that events in between are not lost (the data stays shown meanwhile).
   */
  initialData?: T;
  /** Default: the guild of the nearest <LiveGuild>. */
  guildId?: string;
  /**
   * Throw a failed fetch (a RealtimeDataError) during rendering, to the nearest error boundary (Next.js:
   * `error.tsx`), instead of returning it as `error`. A boundary's retry remounts the component, which fetches again.
   */
  throwOnError?: boolean;
}

export interface UseRealtimeDataResult<T> {
  data: T | null;
  loading: boolean;
  /**
   * The last fetch's failure as an Error (a RealtimeDataError: `message`, `guildId`, `path`, `status`, `cause`),
   * else null. Render `error.message`; with `throwOnError` it is thrown instead.
   */
  error: RealtimeDataError | null;
  /** Fetch again now. */
  refetch(): Promise<void>;
  /** Replace the data locally (e.g. optimistically after a write); the next event or refetch wins. */
  setData(data: T): void;
}

interface KeyedState<T> {
  key: string;
  data: T | null;
  loading: boolean;
  error: RealtimeDataError | null;
}

/**
 * The seed's useRealtimeData(): fetches on mount, joins the guild, patches or refetches on events, and refetches
 * whenever the event stream could not be recovered. Switching guild or path starts afresh (never shows the previous
 * guild's data as this one's).
 */
export function useRealtimeData<T, E extends LiveEventName = LiveEventName>({ path, events, onEvent, skip = false, guildId, initialData, throwOnError = false }: UseRealtimeDataOptions<T, E>): UseRealtimeDataResult<T> {
  const client = useContext(ClientContext);
  const contextGuild = useContext(GuildContext);
  const gid = guildId ?? contextGuild;
  const eventsKey = events.join(",");
  const key = `${gid}\u0000${path}\u0000${eventsKey}`;
  // Loading as soon as there is something to load, client or not: the server's render (no client there) and the
  // browser's first render must agree, or React reports a hydration mismatch.
  const active = !!gid && !skip;
  const fresh = (): KeyedState<T> => ({ key, data: initialData ?? null, loading: active && initialData === undefined, error: null });
  const [state, setState] = useState<KeyedState<T>>(fresh);
  const onEventRef = useRef(onEvent);
  onEventRef.current = onEvent;
  const initialRef = useRef(initialData);
  initialRef.current = initialData;
  const handleRef = useRef<ReturnType<LiveUpdatesClient["realtimeData"]> | null>(null);

  useEffect(() => {
    if (!client || !gid || skip) return;
    const handle = client.realtimeData<T>({
      guildId: gid,
      path,
      events: eventsKey === "" ? [] : (eventsKey.split(",") as LiveEventName[]),
      onEvent: (event, data, current) =>
        onEventRef.current ? (onEventRef.current as (...args: unknown[]) => T | "refetch")(event, data, current) : "refetch",
      onChange: (s) => setState({ key, ...s }),
      initialData: initialRef.current,
    });
    handleRef.current = handle;
    return () => {
      handle.stop();
      if (handleRef.current === handle) handleRef.current = null;
    };
  }, [client, gid, path, eventsKey, skip, key]);

  const refetch = useCallback(() => handleRef.current?.refetch() ?? Promise.resolve(), []);
  const setData = useCallback((data: T) => setState((s) => ({ ...s, data })), []);
  const current = state.key === key ? state : fresh();
  if (throwOnError && current.error !== null && !skip && gid) throw current.error;
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

export interface GuildSubscriptionResult {
  /** The guild this is about (the argument, else the nearest <LiveGuild>'s), or null. */
  guildId: string | null;
  /**
   * `idle` (not joined, or no client: during server rendering), `pending` (joined, not confirmed on the current
   * connection yet), `subscribed`, `refused` (the server refused or revoked it; see `error`).
   */
  state: GuildState;
  /** Why the server refused the guild (`code`: `FORBIDDEN`, `TOO_MANY_GUILDS`, …; `message`: the server's), else null. */
  error: SubscriptionError | null;
}

const idle = "idle\u0000\u0000";

/**
 * Where a guild's live updates stand, re-rendering when that changes: `{ guildId, state, error }`. The guild is the
 * argument, else the nearest <LiveGuild>'s. It does not join the guild (<LiveGuild> and the data hooks do).
 */
export function useGuildSubscription(guildId?: string): GuildSubscriptionResult {
  const client = useContext(ClientContext);
  const contextGuild = useContext(GuildContext);
  const gid = guildId ?? contextGuild;
  const subscribe = useCallback(
    (onChange: () => void) => {
      if (!client || !gid) return noop;
      const offSub = client.onSubscriptionChange((changed) => changed === gid && onChange());
      const offStatus = client.onStatus(onChange);
      return () => {
        offSub();
        offStatus();
      };
    },
    [client, gid],
  );
  const snapshot = useSyncExternalStore(
    subscribe,
    () => {
      if (!client || !gid) return idle;
      const state = client.guildState(gid);
      const error = state === "refused" ? client.subscription(gid)?.error : null;
      return `${state}\u0000${error?.code ?? ""}\u0000${error?.message ?? ""}`;
    },
    () => idle,
  );
  return useMemo(() => {
    const [state, code, message] = snapshot.split("\u0000") as [GuildState, string, string];
    return { guildId: gid, state, error: state === "refused" && gid ? new SubscriptionError(gid, code, message || undefined) : null };
  }, [snapshot, gid]);
}

/** The joined guilds the server refused, for a frame that is not inside one <LiveGuild> (e.g. a header). */
function useRefusedGuilds(enabled: boolean): SubscriptionError[] {
  const client = useContext(ClientContext);
  const subscribe = useCallback(
    (onChange: () => void) => (client && enabled ? client.onSubscriptionChange(onChange) : noop),
    [client, enabled],
  );
  const snapshot = useSyncExternalStore(
    subscribe,
    () => (client && enabled ? client.refusedGuilds().map((e) => `${e.guildId}\u0000${e.code}\u0000${e.message}`).join("\u0001") : ""),
    () => "",
  );
  return useMemo(
    () =>
      snapshot === ""
        ? []
        : snapshot.split("\u0001").map((s) => {
            const [guildId, code, message] = s.split("\u0000") as [string, string, string];
            return new SubscriptionError(guildId, code, message);
          }),
    [snapshot],
  );
}

/** What <ConnectionIndicator> shows: the connection's status, or `refused` when its guild was refused. */
export type IndicatorStatus = ConnectionStatus | "refused";

const LABELS: Record<IndicatorStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  closed: "Offline",
  refused: "No access",
};

export interface ConnectionIndicatorProps {
  className?: string;
  labels?: Partial<Record<IndicatorStatus, string>>;
  /**
   * The guild whose refusal it shows. Default: the nearest <LiveGuild>'s; outside any, every joined guild (so a
   * header above the guild pages says "No access" while the open guild is refused).
   */
  guildId?: string;
}

/**
 * The seed's status dot: "Live" / "Reconnecting…", and "No access" when the server refused the guild (its `title`
 * says why). Style it through `data-status` (connecting, live, reconnecting, closed, refused).
 */
export function ConnectionIndicator({ className = "live-indicator", labels, guildId }: ConnectionIndicatorProps) {
  const status = useConnectionStatus();
  const contextGuild = useContext(GuildContext);
  const gid = guildId ?? contextGuild ?? undefined;
  const guild = useGuildSubscription(gid);
  const anyRefused = useRefusedGuilds(gid === undefined);
  const refusal = gid !== undefined ? guild.error : (anyRefused[0] ?? null);
  const shown: IndicatorStatus = refusal && status === Status.Live ? "refused" : status;
  return (
    <span className={className} data-status={shown} role="status" aria-live="polite" title={refusal ? refusal.message : undefined}>
      <span className={`${className}-dot`} aria-hidden="true" />
      <span className={`${className}-label`}>{labels?.[shown] ?? LABELS[shown]}</span>
    </span>
  );
}

export { Status, SubscriptionError, RealtimeDataError };
export type { ConnectionStatus, GuildState };
