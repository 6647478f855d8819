// The connection: one WebSocket at a time, authenticated on open, kept alive with pings, replaced with backoff and
// jitter when it drops, and resumed early when the browser comes back online or the tab becomes visible again.
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { parseFrame, type ServerMessage } from "./protocol.js";

/** Connection states, as shown by a connection indicator. */
export const Status = Object.freeze({
  /** First connection attempt, not yet authenticated. */
  Connecting: "connecting",
  /** Open and authenticated: events flow. */
  Live: "live",
  /** The connection dropped (or never came up); a new attempt is scheduled or running. */
  Reconnecting: "reconnecting",
  /** close() was called, or the server ended the user's session for good (close 4001 USER_DISCONNECTED: signed out or blocked). */
  Closed: "closed",
} as const);
export type ConnectionStatus = (typeof Status)[keyof typeof Status];

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

/** The session token, or a function returning it (called on every authentication, so it can return a fresh one). */
export type TokenSource = string | (() => string | Promise<string>);

/** Where "online" and "visibilitychange" come from (default: `window` in a browser); `false` turns resuming off. */
export interface ResumeOptions {
  target?: { addEventListener(type: string, fn: () => void): void; removeEventListener(type: string, fn: () => void): void };
  /** Whether the page is visible. Default: `document.visibilityState !== "hidden"`. */
  visible?: () => boolean;
}

export interface ConnectionOptions {
  /** The WebSocket server, e.g. `wss://ws.example.net` or `ws://localhost:3002`. */
  url: string;
  token: TokenSource;
  /** Default: `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Default: the global setTimeout/clearTimeout. */
  timers?: Timers;
  /** Milliseconds clock. Default: `Date.now`. */
  now?: () => number;
  /** Jitter source in [0, 1). Default: `Math.random`. */
  random?: () => number;
  /** Reconnect delays (and re-auth delays after refused tokens). */
  backoff?: BackoffOptions;
  /** A connection not authenticated this long after it was opened is abandoned and retried. Default 10000. */
  connectTimeoutMs?: number;
  /** Declares the `batch` capability (several messages per frame). Default true. */
  batch?: boolean;
  /** Reconnect at once on "online" / the tab becoming visible. Default: the browser's window; `false`: off. */
  resume?: ResumeOptions | false;
  /** Debug logging. */
  logger?: { debug?: (...args: unknown[]) => void };
}

/** What the connection tells its owner (the client). */
export interface ConnectionEvents {
  status(status: ConnectionStatus): void;
  /** `authenticated` arrived: subscribe. */
  authenticated(data: { userId?: string; guilds?: string[]; batch?: boolean }): void;
  /** The session ended on a socket that stays open (subscriptions were dropped by the server), or the socket went away. */
  lost(): void;
  /** Every other message (subscribed, unsubscribed, error, refetch, events). */
  message(msg: ServerMessage): void;
}

/** Codes after which this socket's authentication failed and the client must not retry at network speed. */
const REAUTH_ON_SOCKET = new Set(["TOKEN_EXPIRED", "AUTH_REQUIRED"]);
const ABANDON_SOCKET = new Set(["TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_NOT_YET_VALID", "TOKEN_USER_MISSING", "AUTH_TIMEOUT", "TOO_MANY_AUTH_ATTEMPTS", "TOO_MANY_CONNECTIONS"]);

/**
 * The close code of a user the host disconnected (signed out or blocked everywhere): final. The client does not
 * reconnect (its token would be refused, or worse, still accepted); connect() starts again, e.g. after a new sign-in.
 */
const USER_DISCONNECTED = 4001;

const DEFAULT_PING_INTERVAL_MS = 20000;

export class Connection {
  private readonly _o: ConnectionOptions;
  private readonly _events: ConnectionEvents;
  private readonly _WebSocket: WebSocketConstructor;
  private readonly _setTimeout: (fn: () => void, ms: number) => unknown;
  private readonly _clearTimeout: (id: unknown) => void;
  private readonly _now: () => number;
  private readonly _random: () => number;
  private readonly _backoff: Required<BackoffOptions>;

  private _socket: WebSocketLike | null = null;
  private _generation = 0;
  private _status: ConnectionStatus = Status.Connecting;
  private _authenticated = false;
  private _batch = false;
  private _started = false;
  private _closed = false;
  private _everLive = false;
  /** Consecutive connection attempts that did not end authenticated. */
  private _attempt = 0;
  /** Consecutive refusals of the token (reset by a successful auth): every retry after one waits longer. */
  private _authFailures = 0;
  private _reconnectTimer: unknown = null;
  private _connectTimer: unknown = null;
  private _pingTimer: unknown = null;
  private _reauthTimer: unknown = null;
  private _pingIntervalMs = DEFAULT_PING_INTERVAL_MS;
  private _lastReceivedAt = 0;
  private _unlisten: (() => void) | null = null;

  constructor(options: ConnectionOptions, events: ConnectionEvents) {
    this._o = options;
    this._events = events;
    const WebSocketImpl = options.WebSocket ?? (globalThis as any).WebSocket;
    this._WebSocket = WebSocketImpl;
    const timers = options.timers;
    this._setTimeout = timers ? (fn, ms) => timers.setTimeout(fn, ms) : (fn, ms) => globalThis.setTimeout(fn, ms);
    this._clearTimeout = timers ? (id) => timers.clearTimeout(id) : (id) => globalThis.clearTimeout(id as any);
    this._now = options.now ?? (() => Date.now());
    this._random = options.random ?? Math.random;
    this._backoff = { ...DEFAULT_BACKOFF, ...(options.backoff ?? {}) };
  }

  get status(): ConnectionStatus {
    return this._status;
  }

  /** Open and authenticated. */
  get authenticated(): boolean {
    return this._authenticated;
  }

  /** Whether the server confirmed that it packs several messages per frame. */
  get batch(): boolean {
    return this._batch;
  }

  start(): void {
    if (this._started && !this._closed) return;
    this._started = true;
    this._closed = false;
    this._attempt = 0;
    this._listen();
    this._open();
  }

  stop(): void {
    this._closed = true;
    this._started = false;
    this._unlisten?.();
    this._unlisten = null;
    this._cancel("_reconnectTimer");
    const socket = this._socket;
    this._teardown();
    if (socket) {
      try {
        socket.close(1000, "client closed");
      } catch {
        // already closing
      }
    }
    this._setStatus(Status.Closed);
  }

  /** Sends on the authenticated socket; false when there is none. */
  send(message: object): boolean {
    if (!this._socket || !this._authenticated) return false;
    return this._send(this._socket, message);
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────

  private _open(): void {
    this._reconnectTimer = null;
    if (this._closed) return;
    this._setStatus(this._everLive || this._attempt > 0 ? Status.Reconnecting : Status.Connecting);
    const generation = ++this._generation;
    let socket: WebSocketLike;
    try {
      socket = new this._WebSocket(this._o.url);
    } catch (err) {
      this._debug("WebSocket constructor failed", err);
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    const current = () => generation === this._generation && this._socket === socket;
    this._connectTimer = this._setTimeout(() => {
      this._connectTimer = null;
      if (current() && !this._authenticated) this._abandon(socket, "connect timeout");
    }, this._o.connectTimeoutMs ?? 10000);
    socket.onopen = () => {
      if (current()) void this._authenticate(socket, current);
    };
    socket.onmessage = (e) => {
      if (current()) this._receive(e?.data, socket, current);
    };
    socket.onclose = (e) => {
      if (!current()) return;
      const why = `closed ${e?.code ?? ""} ${e?.reason ?? ""}`.trim();
      if (e?.code === USER_DISCONNECTED) this._ended(why);
      else this._dropped(why);
    };
    socket.onerror = () => {
      // A close event follows.
    };
  }

  private async _authenticate(socket: WebSocketLike, current: () => boolean): Promise<void> {
    let token: unknown;
    try {
      token = typeof this._o.token === "function" ? await this._o.token() : this._o.token;
    } catch (err) {
      this._debug("token provider failed", err);
      if (current()) this._refused(socket, "token provider failed");
      return;
    }
    if (!current()) return;
    if (typeof token !== "string" || token === "") {
      this._refused(socket, "no token");
      return;
    }
    const message: Record<string, unknown> = { type: "auth", token };
    if (this._o.batch !== false) message.batch = true;
    this._send(socket, message);
  }

  private _receive(raw: unknown, socket: WebSocketLike, current: () => boolean): void {
    this._lastReceivedAt = this._now();
    for (const msg of parseFrame(raw, this._batch)) {
      if (!current()) return; // a message before this one ended the socket
      this._handle(msg, socket, current);
    }
  }

  private _handle(msg: ServerMessage, socket: WebSocketLike, current: () => boolean): void {
    switch (msg?.event) {
      case "connected":
        if (typeof msg.data?.pingIntervalMs === "number" && msg.data.pingIntervalMs > 0) this._pingIntervalMs = msg.data.pingIntervalMs;
        this._schedulePing(socket, current);
        return;
      case "authenticated":
        this._cancel("_connectTimer");
        this._authenticated = true;
        this._batch = this._o.batch !== false && msg.data?.batch === true;
        this._everLive = true;
        this._attempt = 0;
        this._authFailures = 0;
        this._setStatus(Status.Live);
        this._events.authenticated(msg.data ?? {});
        return;
      case "pong":
        return;
      case "error": {
        const code = msg.data?.code;
        this._events.message(msg);
        if (!current()) return;
        if (REAUTH_ON_SOCKET.has(code)) {
          // (AUTH_REQUIRED may come once per message sent as the session ended: one re-auth answers them all.)
          if (this._reauthTimer !== null) return;
          // The session ended (or the token was already expired) but the socket is fine: the server dropped our
          // subscriptions. Authenticate again with a fresh token, after a growing delay (never at network speed).
          const wasAuthenticated = this._authenticated;
          this._authenticated = false;
          if (wasAuthenticated) this._events.lost();
          this._setStatus(Status.Reconnecting);
          const delay = backoffDelay(this._authFailures++, this._backoff, this._random);
          this._cancel("_reauthTimer");
          this._reauthTimer = this._setTimeout(() => {
            this._reauthTimer = null;
            if (current()) void this._authenticate(socket, current);
          }, delay);
        } else if (ABANDON_SOCKET.has(code)) {
          this._refused(socket, code);
        }
        return;
      }
      default:
        this._events.message(msg);
    }
  }

  /** The token was refused (or none could be had): drop this socket and retry later, later each time. */
  private _refused(socket: WebSocketLike, why: string): void {
    this._authFailures += 1;
    this._abandon(socket, why);
  }

  /** Pings every pingIntervalMs, and gives up on a socket from which nothing came for two intervals. */
  private _schedulePing(socket: WebSocketLike, current: () => boolean): void {
    this._cancel("_pingTimer");
    this._pingTimer = this._setTimeout(() => {
      this._pingTimer = null;
      if (!current()) return;
      if (this._now() - this._lastReceivedAt > 2 * this._pingIntervalMs) {
        this._abandon(socket, "no answer from the server");
        return;
      }
      this._send(socket, { type: "ping" });
      this._schedulePing(socket, current);
    }, this._pingIntervalMs);
  }

  /** Drops a socket without waiting for its close event (which a dead connection may never deliver). */
  private _abandon(socket: WebSocketLike, why: string): void {
    try {
      socket.close(4000, why.slice(0, 100));
    } catch {
      // already closed
    }
    this._dropped(why);
  }

  /** The server ended the session for good: like stop(), without a reconnect. */
  private _ended(why: string): void {
    this._debug(`connection ended by the server: ${why}`);
    this._teardown();
    this._events.lost();
    this._closed = true;
    this._started = false;
    this._unlisten?.();
    this._unlisten = null;
    this._cancel("_reconnectTimer");
    this._setStatus(Status.Closed);
  }

  private _dropped(why: string): void {
    this._debug(`connection lost: ${why}`);
    this._teardown();
    this._events.lost();
    if (!this._closed) {
      this._setStatus(Status.Reconnecting);
      this._scheduleReconnect();
    }
  }

  private _teardown(): void {
    this._generation += 1;
    this._socket = null;
    this._authenticated = false;
    this._batch = false;
    this._cancel("_pingTimer");
    this._cancel("_connectTimer");
    this._cancel("_reauthTimer");
  }

  private _scheduleReconnect(): void {
    if (this._closed || this._reconnectTimer !== null) return;
    const delay = backoffDelay(Math.max(this._attempt, this._authFailures), this._backoff, this._random);
    this._attempt += 1;
    this._debug(`reconnecting in ${delay} ms`);
    this._reconnectTimer = this._setTimeout(() => this._open(), delay);
  }

  /** "online" or the tab visible again: a pending reconnect runs now (unless it is a token refusal's backoff). */
  private _resume(): void {
    if (this._closed || !this._started) return;
    if (this._reconnectTimer !== null && this._authFailures === 0) {
      this._cancel("_reconnectTimer");
      this._open();
    } else if (this._socket && this._authenticated && this._now() - this._lastReceivedAt > this._pingIntervalMs) {
      this._send(this._socket, { type: "ping" }); // after a sleep: find out soon whether this socket still works
    }
  }

  private _listen(): void {
    if (this._unlisten || this._o.resume === false) return;
    const target = this._o.resume?.target ?? (typeof (globalThis as any).addEventListener === "function" ? (globalThis as any) : null);
    if (!target) return;
    const visible = this._o.resume?.visible ?? (() => (globalThis as any).document?.visibilityState !== "hidden");
    const onOnline = () => this._resume();
    const onVisibility = () => {
      if (visible()) this._resume();
    };
    target.addEventListener("online", onOnline);
    target.addEventListener("visibilitychange", onVisibility);
    this._unlisten = () => {
      target.removeEventListener("online", onOnline);
      target.removeEventListener("visibilitychange", onVisibility);
    };
  }

  // ── helpers ────────────────────────────────────────────────────────────────

  private _send(socket: WebSocketLike, message: object): boolean {
    try {
      socket.send(JSON.stringify(message));
      return true;
    } catch (err) {
      this._debug("send failed", err);
      return false;
    }
  }

  private _setStatus(status: ConnectionStatus): void {
    if (this._status === status) return;
    this._status = status;
    this._events.status(status);
  }

  private _cancel(field: "_reconnectTimer" | "_connectTimer" | "_pingTimer" | "_reauthTimer"): void {
    if (this[field] !== null) {
      this._clearTimeout(this[field]);
      this[field] = null;
    }
  }

  private _debug(...args: unknown[]): void {
    this._o.logger?.debug?.("[live-updates]", ...args);
  }
}
