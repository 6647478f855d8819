// Types of live-updates.js, the LiveUpdates browser client. Event names and payloads: live-events.d.ts (generated).
import type { LiveEventEnvelope, LiveEventName, LiveEventPayloads } from "./live-events";

export type { LiveEventEnvelope, LiveEventName, LiveEventPayloads, LivePluginName } from "./live-events";

/** Connection states, as shown by a connection indicator ("Live" / "Reconnecting…"). */
export declare const Status: {
  /** First connection attempt, not yet authenticated. */
  readonly Connecting: "connecting";
  /** Open and authenticated: events flow. */
  readonly Live: "live";
  /** The connection dropped (or never came up); a new attempt is scheduled or running. */
  readonly Reconnecting: "reconnecting";
  /** close() was called. */
  readonly Closed: "closed";
};
export type ConnectionStatus = (typeof Status)[keyof typeof Status];

/** Reconnect delays: attempt n waits between half and all of min(maxMs, initialMs × factor^n). */
export interface BackoffOptions {
  /** First delay's ceiling. Default 500. */
  initialMs?: number;
  /** Largest delay. Default 15000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

/** The timer functions the client uses; inject fakes to test it without real time. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The part of the WebSocket API the client uses; inject a fake to test it without a network. The client sets the
 * handlers and reads `event.data` (a string) of messages and `event.code`/`event.reason` of closes.
 */
export interface WebSocketLike {
  onopen: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

/** Fetches a plugin API path of a guild and returns its data (the bot API's `{ success, data }` unwrapped). */
export type FetchData = (guildId: string, path: string) => Promise<any>;

export interface LiveUpdatesOptions {
  /** The WebSocket server, e.g. `process.env.NEXT_PUBLIC_WS_URL` or `ws://localhost:3002`. */
  url: string;
  /** The dashboard session token, or a function returning it; the function is called on every (re)connect, so it can hand out a fresh one. */
  token: string | (() => string | Promise<string>);
  /** Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Default: the global setTimeout/clearTimeout. */
  timers?: Timers;
  /** Milliseconds clock. Default: `Date.now`. */
  now?: () => number;
  /** Jitter source in [0, 1). Default: `Math.random`. */
  random?: () => number;
  backoff?: BackoffOptions;
  /** Most subscribe/unsubscribe messages per window (the server allows 5 per second). Default `{ max: 4, perMs: 1000 }`. */
  subscribeRate?: { max?: number; perMs?: number };
  /** Base URL of the bot's plugin API for the default fetchData, e.g. `http://127.0.0.1:3001`. Default: same origin. */
  apiBase?: string;
  /** Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** How realtimeData fetches. Default: GET `${apiBase}/api/guilds/${guildId}/${path}` and unwrap `{ success, data }`. */
  fetchData?: FetchData;
  /** Receives a listener's exception (the others still run). Default: `reportError`, as for an uncaught exception. */
  reportError?: (error: unknown) => void;
  /** Debug logging. */
  logger?: { debug?: (...args: unknown[]) => void };
}

/** What onSync reports: the guild's subscription did not recover what was missed (or there was nothing to recover). */
export interface SyncInfo {
  guildId: string;
  /** `false`: events were missed (a restarted server, history too short): refetch. `undefined`: a first subscription. */
  recovered: false | undefined;
  /** Whether the guild had been subscribed before on this client (a re-subscription after a reconnect). */
  resubscribed: boolean;
}

/** An `error` message from the server. */
export interface ServerError {
  /** A stable code such as `FORBIDDEN`, `TOKEN_EXPIRED` (see the README's error codes). */
  code: string;
  message: string;
  /** Present when the error is about a guild. */
  guildId?: string;
}

/** A wildcard listener's first argument, as in the seed plan. */
export interface AnyEvent {
  event: LiveEventName;
  data: unknown;
}

export interface RealtimeDataOptions<T> {
  guildId: string;
  /** API path relative to /api/guilds/{guildId}/, e.g. "moderation/rules". */
  path: string;
  /** Events of the guild that change this data. */
  events: readonly LiveEventName[];
  /** Patches the data from an event: return the new data, or "refetch". Without it every event refetches. */
  onEvent?: (event: LiveEventName, data: any, current: T) => T | "refetch";
  /** Called whenever data, loading or error change. */
  onChange?: (state: RealtimeDataState<T>) => void;
  /** Overrides the client's fetchData for this data. */
  fetchData?: FetchData;
}

export interface RealtimeDataState<T> {
  data: T | null;
  loading: boolean;
  error: string | null;
}

export interface RealtimeData<T> extends Readonly<RealtimeDataState<T>> {
  /** How many fetches were started so far. */
  readonly fetchCount: number;
  /** Fetches again (coalesced with one already running). */
  refetch(): Promise<void>;
  /** Stops listening and leaves the guild (once). */
  stop(): void;
}

/** Delay before reconnect attempt `attempt` (0-based), with equal jitter. */
export declare function backoffDelay(attempt: number, backoff?: BackoffOptions, random?: () => number): number;

export declare class LiveUpdatesClient {
  constructor(options: LiveUpdatesOptions);
  /** True while the socket is open and authenticated. */
  readonly connected: boolean;
  readonly status: ConnectionStatus;
  /** Opens the connection; it then stays up, reconnecting as needed, until close(). */
  connect(): void;
  /** Closes and stops reconnecting; joined guilds and listeners are kept for a later connect(). */
  close(): void;
  /** Joins a guild's room (reference counted). Returns a function that undoes this one join. */
  joinGuild(guildId: string): () => void;
  /** Undoes one joinGuild; the last one unsubscribes. */
  leaveGuild(guildId: string): void;
  /** How many joins the guild has. */
  joinCount(guildId: string): number;
  /** Whether the server confirmed the subscription on the current connection. */
  isSubscribed(guildId: string): boolean;
  /** Listens to one event of a guild. Returns a function that removes the listener. */
  on<E extends LiveEventName>(guildId: string, event: E, handler: (data: LiveEventPayloads[E], envelope: LiveEventEnvelope<E>) => void): () => void;
  /** Listens to every event of a guild. */
  on(guildId: string, event: "*", handler: (event: AnyEvent, envelope: LiveEventEnvelope) => void): () => void;
  onStatus(handler: (status: ConnectionStatus, connected: boolean) => void): () => void;
  /** Called when a subscription of the guild could not recover: refetch what you show. */
  onSync(guildId: string, handler: (info: SyncInfo) => void): () => void;
  onError(handler: (error: ServerError) => void): () => void;
  /** Fetch, then patch or refetch on events; refetch when recovery fails. The seed's useRealtimeData without React. */
  realtimeData<T>(options: RealtimeDataOptions<T>): RealtimeData<T>;
}

export declare function createLiveUpdatesClient(options: LiveUpdatesOptions): LiveUpdatesClient;
