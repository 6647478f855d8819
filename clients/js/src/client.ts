// LiveUpdatesClient: one connection, the guild subscriptions of a page, event listeners, and realtimeData views.
import type { LiveEventEnvelope, LiveEventName, LiveEventPayloads } from "../live-events.js";
import type { BackoffOptions } from "./backoff.js";
import { Connection, Status, type ConnectionStatus, type ResumeOptions, type Timers, type TokenSource, type WebSocketConstructor } from "./connection.js";
import type { ErrorCode, ServerMessage } from "./protocol.js";
import { defaultFetchData, realtimeData, type ApiOptions, type FetchData, type RealtimeData, type RealtimeDataOptions } from "./realtime-data.js";
import { GuildSubscription, SubscriptionError } from "./subscription.js";

/** Where a guild stands for a page: see LiveUpdatesClient.guildState(). */
export type GuildState = "idle" | "pending" | "subscribed" | "refused";

export interface LiveUpdatesOptions {
  /** The WebSocket server, e.g. `wss://ws.example.net` or `ws://localhost:3002`. */
  url: string;
  /** The dashboard session token, or a function returning it; the function is called on every authentication. */
  token: TokenSource;
  /** Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Default: the global setTimeout/clearTimeout. */
  timers?: Timers;
  /** Milliseconds clock. Default: `Date.now`. */
  now?: () => number;
  /** Jitter source in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /** Reconnect delays, and delays between authentications after a refused token. Default `{ initialMs: 500, factor: 2, maxMs: 15000 }`. */
  backoff?: BackoffOptions;
  /** A connection not authenticated this long after opening is abandoned and retried. Default 10000. */
  connectTimeoutMs?: number;
  /** Declare the `batch` capability (the server may then pack several messages per frame). Default true. */
  batch?: boolean;
  /** Reconnect at once on "online" / the tab becoming visible. Default: the browser's window; `false`: off. */
  resume?: ResumeOptions | false;
  /** Most subscribe/unsubscribe messages per window (the server allows 5 per second). Default `{ max: 4, perMs: 1000 }`. */
  subscribeRate?: { max?: number; perMs?: number };
  /** Base URL of the bot's plugin API for the default fetchData (same as `api.base`). Default: same origin. */
  apiBase?: string;
  /** The REST shape the default fetchData reads. Default: GET `{base}/api/guilds/{guildId}/{path}`, `{ success, data }`. */
  api?: ApiOptions;
  /** Default: `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** How realtimeData fetches; replaces the default (and `api`) entirely. */
  fetchData?: FetchData;
  /** Receives a listener's exception (the others still run). Default: `reportError`, as for an uncaught exception. */
  reportError?: (error: unknown) => void;
  /** Debug logging. */
  logger?: { debug?: (...args: unknown[]) => void };
}

/** What onSync reports: the guild's subscription did not recover what was missed (or there was nothing to recover). */
export interface SyncInfo {
  guildId: string;
  /** `false`: events were missed (a restarted server, history too short, a `refetch` from the server): refetch. `undefined`: a first subscription. */
  recovered: false | undefined;
  /** Whether the guild had been subscribed before on this client (a re-subscription after a reconnect). */
  resubscribed: boolean;
}

/** An `error` message from the server. */
export interface ServerError {
  /** A stable code such as `FORBIDDEN`, `TOKEN_EXPIRED` (see the README's error codes). */
  code: ErrorCode;
  message: string;
  /** Present when the error is about a guild. */
  guildId?: string;
}

/** A wildcard listener's first argument, as in the seed plan. */
export interface AnyEvent {
  event: LiveEventName;
  data: unknown;
}

const WILDCARD = "*";
const DEFAULT_RATE = Object.freeze({ max: 4, perMs: 1000 });

export class LiveUpdatesClient {
  private readonly _connection: Connection;
  private readonly _now: () => number;
  private readonly _setTimeout: (fn: () => void, ms: number) => unknown;
  private readonly _clearTimeout: (id: unknown) => void;
  private readonly _rate: { max: number; perMs: number };
  private readonly _fetchData: FetchData;
  private readonly _reportError: (error: unknown) => void;
  private _pumpTimer: unknown = null;
  private _sentOps: number[] = [];
  private readonly _guilds = new Map<string, GuildSubscription>();
  private readonly _listeners = new Map<string, Set<(...args: any[]) => void>>();
  private readonly _statusListeners = new Set<(status: ConnectionStatus, connected: boolean) => void>();
  private readonly _syncListeners = new Map<string, Set<(info: SyncInfo) => void>>();
  private readonly _errorListeners = new Set<(error: ServerError) => void>();
  private readonly _subscriptionListeners = new Set<(guildId: string) => void>();

  constructor(options: LiveUpdatesOptions) {
    if (!options || typeof options.url !== "string" || options.url === "") {
      throw new TypeError("LiveUpdatesClient: options.url (the WebSocket URL, e.g. ws://localhost:3002) is required");
    }
    if (options.token === undefined || options.token === null) {
      throw new TypeError("LiveUpdatesClient: options.token (a string or a function returning one) is required");
    }
    const timers = options.timers;
    this._setTimeout = timers ? (fn, ms) => timers.setTimeout(fn, ms) : (fn, ms) => globalThis.setTimeout(fn, ms);
    this._clearTimeout = timers ? (id) => timers.clearTimeout(id) : (id) => globalThis.clearTimeout(id as any);
    this._now = options.now ?? (() => Date.now());
    this._rate = { ...DEFAULT_RATE, ...(options.subscribeRate ?? {}) };
    const fetchImpl: typeof fetch = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this._fetchData = options.fetchData ?? defaultFetchData(fetchImpl, { base: options.apiBase, ...options.api });
    this._reportError = options.reportError ?? defaultReportError;
    this._connection = new Connection(options, {
      status: (status) => {
        for (const handler of [...this._statusListeners]) this._safeCall(handler, status, this._connection.authenticated);
      },
      authenticated: () => this._pump(),
      lost: () => this._lost(),
      message: (msg) => this._message(msg),
    });
  }

  /** True while the socket is open and authenticated. */
  get connected(): boolean {
    return this._connection.authenticated;
  }

  get status(): ConnectionStatus {
    return this._connection.status;
  }

  /** Whether the server packs several messages per frame on this connection (it confirmed `batch`). */
  get batch(): boolean {
    return this._connection.batch;
  }

  /** Opens the connection (once); it then stays up, reconnecting as needed, until close(). */
  connect(): void {
    this._connection.start();
  }

  /** Closes the connection and stops reconnecting. Joined guilds and listeners are kept for a later connect(). */
  close(): void {
    this._connection.stop();
  }

  /**
   * Joins a guild's room. Calls are counted: the room is left when every join has been matched by a leave, so two
   * widgets on one page never unsubscribe each other. Returns a function that leaves once (further calls do nothing).
   */
  joinGuild(guildId: string): () => void {
    assertGuildId(guildId);
    let guild = this._guilds.get(guildId);
    if (!guild) {
      guild = new GuildSubscription(guildId);
      this._guilds.set(guildId, guild);
    }
    guild._refs += 1;
    if (guild._refs === 1) guild._refused = null; // a fresh join may try again after FORBIDDEN
    this._pump();
    if (guild._refs === 1) this._changed(guildId);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.leaveGuild(guildId);
    };
  }

  /** Undoes one joinGuild(guildId); the last one unsubscribes. */
  leaveGuild(guildId: string): void {
    const guild = this._guilds.get(guildId);
    if (!guild || guild._refs === 0) return;
    guild._refs -= 1;
    if (guild._refs === 0) {
      guild._left();
      this._pump();
      this._changed(guildId);
    }
  }

  /** How many joins guildId has (0 when not joined). */
  joinCount(guildId: string): number {
    return this._guilds.get(guildId)?._refs ?? 0;
  }

  /** The guild's subscription (state, lastSeq/epoch, ready()), while it is joined or being left. */
  subscription(guildId: string): GuildSubscription | undefined {
    return this._guilds.get(guildId);
  }

  /** True when the server has confirmed the subscription to guildId on the current connection. */
  isSubscribed(guildId: string): boolean {
    return this._guilds.get(guildId)?._state === "subscribed" && this._connection.authenticated;
  }

  /** Listens to one event of a guild. The handler gets `(data, envelope)`. Returns a function that removes it. */
  on<E extends LiveEventName>(guildId: string, event: E, handler: (data: LiveEventPayloads[E], envelope: LiveEventEnvelope<E>) => void): () => void;
  /** Listens to every event of a guild: the handler gets `({ event, data }, envelope)` as in the seed. */
  on(guildId: string, event: "*", handler: (event: AnyEvent, envelope: LiveEventEnvelope) => void): () => void;
  on(guildId: string, event: string, handler: (...args: any[]) => void): () => void {
    assertGuildId(guildId);
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    return addTo(this._listeners, `${guildId}\u0000${event}`, handler);
  }

  /** How many event listeners are registered (all guilds), for diagnostics and leak tests. */
  listenerCount(): number {
    let n = 0;
    for (const set of this._listeners.values()) n += set.size;
    for (const set of this._syncListeners.values()) n += set.size;
    return n;
  }

  /** Listens to status changes: handler(status, connected). Returns a function that removes it. */
  onStatus(handler: (status: ConnectionStatus, connected: boolean) => void): () => void {
    this._statusListeners.add(handler);
    return () => this._statusListeners.delete(handler);
  }

  /**
   * Listens to subscriptions of guildId that did not recover: `recovered: false` means events were missed and the
   * page must refetch; `recovered: undefined` is a first subscription (nothing to recover). Returns a function that removes it.
   */
  onSync(guildId: string, handler: (info: SyncInfo) => void): () => void {
    return addTo(this._syncListeners, guildId, handler);
  }

  /**
   * Where a guild stands for this page: `idle` (not joined), `pending` (joined, not confirmed on the current
   * connection yet: connecting, subscribing, or waiting for a reconnect), `subscribed`, or `refused` (the server
   * refused or revoked it: `FORBIDDEN`, `TOO_MANY_GUILDS`, …; not retried until joined afresh).
   */
  guildState(guildId: string): GuildState {
    const guild = this._guilds.get(guildId);
    if (!guild || guild._refs === 0) return "idle";
    if (guild._refused !== null) return "refused";
    return guild._state === "subscribed" && this._connection.authenticated ? "subscribed" : "pending";
  }

  /** The joined guilds the server refused (their subscriptions' errors). */
  refusedGuilds(): SubscriptionError[] {
    const refused: SubscriptionError[] = [];
    for (const guild of this._guilds.values()) if (guild._refs > 0 && guild._refused !== null) refused.push(guild.error!);
    return refused;
  }

  /** Called with a guild's id whenever its guildState() may have changed. Returns a function that removes it. */
  onSubscriptionChange(handler: (guildId: string) => void): () => void {
    this._subscriptionListeners.add(handler);
    return () => this._subscriptionListeners.delete(handler);
  }

  /** Listens to the server's `error` messages. */
  onError(handler: (error: ServerError) => void): () => void {
    this._errorListeners.add(handler);
    return () => this._errorListeners.delete(handler);
  }

  /** The seed's useRealtimeData without React: fetch, then patch or refetch on events; refetch when recovery fails. */
  realtimeData<T>(options: RealtimeDataOptions<T>): RealtimeData<T> {
    assertGuildId(options?.guildId);
    if (typeof options.path !== "string") throw new TypeError("path must be a string");
    return realtimeData<T>(this, this._fetchData, options);
  }

  // ── messages ───────────────────────────────────────────────────────────────

  private _message(msg: ServerMessage): void {
    if (msg.type === "refetch" || msg.event === "refetch") {
      this._refetch(msg);
      return;
    }
    switch (msg.event) {
      case "subscribed":
        this._subscribed(msg);
        return;
      case "unsubscribed": {
        const guild = this._guilds.get((msg.guildId ?? msg.data?.guildId) as string);
        if (guild && guild._state !== "subscribing") guild._state = "unsubscribed";
        this._pump();
        if (guild) this._changed(guild.guildId);
        return;
      }
      case "error":
        this._serverError(msg);
        return;
      default:
        if (typeof msg.event === "string" && typeof msg.guildId === "string") this._dispatch(msg);
    }
  }

  private _subscribed(msg: ServerMessage): void {
    const guildId = (msg.guildId ?? msg.data?.guildId) as string;
    const guild = this._guilds.get(guildId);
    if (!guild) return;
    const data = msg.data ?? {};
    const recovered: boolean | undefined = data.recovered;
    const resubscribed = guild._everSubscribed;
    guild._confirmed(typeof data.seq === "number" ? data.seq : null, data.epoch ?? null, recovered);
    this._changed(guildId);
    if (guild._refs > 0 && recovered !== true) this._sync(guild, recovered === false ? false : undefined, resubscribed);
    this._pump();
  }

  /** The server lost events of this guild up to a position (e.g. a dropped broadcast): continue from there, refetch. */
  private _refetch(msg: ServerMessage): void {
    const guildId = (msg.guildId ?? msg.data?.guildId) as string;
    const guild = this._guilds.get(guildId);
    if (!guild || guild._refs === 0 || guild._state !== "subscribed") return;
    const data = msg.data ?? {};
    if (typeof data.seq === "number") guild._lastSeq = data.seq;
    if (typeof data.epoch === "string") guild._epoch = data.epoch;
    this._sync(guild, false, true);
  }

  private _sync(guild: GuildSubscription, recovered: false | undefined, resubscribed: boolean): void {
    for (const handler of [...(this._syncListeners.get(guild.guildId) ?? [])]) {
      this._safeCall(handler, { guildId: guild.guildId, recovered, resubscribed });
    }
  }

  private _serverError(msg: ServerMessage): void {
    const data = msg.data ?? {};
    const code = data.code;
    const guildId = msg.guildId;
    const guild = guildId ? this._guilds.get(guildId) : undefined;
    if (guild && code === "AUTH_REQUIRED") {
      // A subscribe that crossed the end of the session: not a refusal; it is sent again after the next auth.
      guild._state = "unsubscribed";
      this._changed(guild.guildId);
    } else if (guild && (guild._state === "subscribing" || guild._state === "subscribed")) {
      // A refused subscribe (FORBIDDEN, TOO_MANY_GUILDS, …), or access revoked while subscribed (FORBIDDEN with the
      // guild's id: the server ended the subscription). Either way: not retried until joined afresh.
      guild._refuse(code ?? "ERROR", data.message);
      this._changed(guild.guildId);
    }
    for (const handler of [...this._errorListeners]) this._safeCall(handler, { code, message: data.message, guildId });
  }

  private _dispatch(msg: ServerMessage): void {
    const guild = this._guilds.get(msg.guildId!);
    if (!guild || guild._refs === 0 || guild._state === "unsubscribing") return; // left meanwhile
    if (typeof msg.seq === "number") {
      if (msg.epoch === guild._epoch && guild._lastSeq !== null && msg.seq <= guild._lastSeq) return; // seen already
      guild._lastSeq = msg.seq;
      guild._epoch = msg.epoch ?? guild._epoch;
    }
    for (const handler of [...(this._listeners.get(`${msg.guildId}\u0000${msg.event}`) ?? [])]) {
      this._safeCall(handler, msg.data, msg);
    }
    for (const handler of [...(this._listeners.get(`${msg.guildId}\u0000${WILDCARD}`) ?? [])]) {
      this._safeCall(handler, { event: msg.event, data: msg.data }, msg);
    }
  }

  /** The session or the socket went away: the server forgot every subscription. */
  private _lost(): void {
    if (this._pumpTimer !== null) {
      this._clearTimeout(this._pumpTimer);
      this._pumpTimer = null;
    }
    this._sentOps = [];
    for (const [guildId, guild] of this._guilds) {
      guild._state = "unsubscribed";
      if (guild._refs === 0) this._guilds.delete(guildId);
    }
    for (const guildId of [...this._guilds.keys()]) this._changed(guildId);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────

  /** Brings the server's subscriptions in line with the joined guilds, within the subscribe rate. */
  private _pump(): void {
    if (!this._connection.authenticated || this._pumpTimer !== null) return;
    for (const [guildId, guild] of this._guilds) {
      const wanted = guild._refs > 0 && guild._refused === null;
      let message: Record<string, unknown> | null = null;
      if (wanted && guild._state === "unsubscribed") {
        message = { type: "subscribe", guildId };
        if (guild._epoch !== null && guild._lastSeq !== null) {
          message.lastSeq = guild._lastSeq;
          message.epoch = guild._epoch;
        }
      } else if (!wanted && guild._state === "subscribed") {
        message = { type: "unsubscribe", guildId };
      } else if (guild._refs === 0 && guild._state === "unsubscribed") {
        this._guilds.delete(guildId);
        continue;
      }
      if (message === null) continue;

      const now = this._now();
      this._sentOps = this._sentOps.filter((t) => now - t < this._rate.perMs);
      if (this._sentOps.length >= this._rate.max) {
        const wait = this._rate.perMs - (now - this._sentOps[0]!);
        this._pumpTimer = this._setTimeout(() => {
          this._pumpTimer = null;
          this._pump();
        }, Math.max(1, wait));
        return;
      }
      this._sentOps.push(now);
      if (message.type === "subscribe") {
        guild._state = "subscribing";
      } else {
        guild._state = "unsubscribing";
        guild._forgetPosition();
      }
      this._connection.send(message);
    }
  }

  // ── helpers ────────────────────────────────────────────────────────────────

  private _changed(guildId: string): void {
    for (const handler of [...this._subscriptionListeners]) this._safeCall(handler, guildId);
  }

  /** Calls a listener; one faulty listener must not stop the others, nor the client. */
  private _safeCall(handler: (...args: any[]) => void, ...args: unknown[]): void {
    try {
      handler(...args);
    } catch (err) {
      this._reportError(err);
    }
  }
}

/** Same as `new LiveUpdatesClient(options)`. */
export function createLiveUpdatesClient(options: LiveUpdatesOptions): LiveUpdatesClient {
  return new LiveUpdatesClient(options);
}

export { Status };

function addTo<H>(map: Map<string, Set<H>>, key: string, handler: H): () => void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(handler);
  return () => {
    set.delete(handler);
    if (set.size === 0 && map.get(key) === set) map.delete(key);
  };
}

/** Reports a listener's exception the way the browser reports an uncaught one, without unwinding the client. */
function defaultReportError(err: unknown): void {
  if (typeof (globalThis as any).reportError === "function") {
    (globalThis as any).reportError(err);
  } else {
    queueMicrotask(() => {
      throw err;
    });
  }
}

function assertGuildId(guildId: unknown): asserts guildId is string {
  if (typeof guildId !== "string" || !/^[0-9]{1,20}$/.test(guildId)) {
    throw new TypeError(`guildId must be a Discord snowflake string, got ${JSON.stringify(guildId)}`);
  }
}
