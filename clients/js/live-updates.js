// @liveupdates/client, built into one ES module for pages without a bundler (the sample host's page loads it).
// Generated from clients/js/src by `npm run build` (clients/js/build.mjs): do not edit. Types: the package's dist/*.d.ts.

// src/backoff.ts
var DEFAULT_BACKOFF = Object.freeze({ initialMs: 500, maxMs: 15e3, factor: 2 });
function backoffDelay(attempt, backoff = DEFAULT_BACKOFF, random = Math.random) {
  const { initialMs, maxMs, factor } = { ...DEFAULT_BACKOFF, ...backoff };
  const ceiling = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

// src/protocol.ts
function parseFrame(raw, batch) {
  const text = typeof raw === "string" ? raw : String(raw);
  if (!batch) {
    try {
      return [JSON.parse(text)];
    } catch {
      if (!text.includes("\n")) return [];
    }
  }
  const messages = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      messages.push(JSON.parse(line));
    } catch {
    }
  }
  return messages;
}

// src/connection.ts
var Status = Object.freeze({
  /** First connection attempt, not yet authenticated. */
  Connecting: "connecting",
  /** Open and authenticated: events flow. */
  Live: "live",
  /** The connection dropped (or never came up); a new attempt is scheduled or running. */
  Reconnecting: "reconnecting",
  /** close() was called, or the server ended the user's session for good (close 4001 USER_DISCONNECTED: signed out or blocked). */
  Closed: "closed"
});
var REAUTH_ON_SOCKET = /* @__PURE__ */ new Set(["TOKEN_EXPIRED", "AUTH_REQUIRED"]);
var ABANDON_SOCKET = /* @__PURE__ */ new Set(["TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_NOT_YET_VALID", "TOKEN_USER_MISSING", "AUTH_TIMEOUT", "TOO_MANY_AUTH_ATTEMPTS", "TOO_MANY_CONNECTIONS"]);
var USER_DISCONNECTED = 4001;
var DEFAULT_PING_INTERVAL_MS = 2e4;
var Connection = class {
  _o;
  _events;
  _WebSocket;
  _setTimeout;
  _clearTimeout;
  _now;
  _random;
  _backoff;
  _socket = null;
  _generation = 0;
  _status = Status.Connecting;
  _authenticated = false;
  _batch = false;
  _started = false;
  _closed = false;
  _everLive = false;
  /** Consecutive connection attempts that did not end authenticated. */
  _attempt = 0;
  /** Consecutive refusals of the token (reset by a successful auth): every retry after one waits longer. */
  _authFailures = 0;
  _reconnectTimer = null;
  _connectTimer = null;
  _pingTimer = null;
  _reauthTimer = null;
  _pingIntervalMs = DEFAULT_PING_INTERVAL_MS;
  _lastReceivedAt = 0;
  _unlisten = null;
  constructor(options, events) {
    this._o = options;
    this._events = events;
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    this._WebSocket = WebSocketImpl;
    const timers = options.timers;
    this._setTimeout = timers ? (fn, ms) => timers.setTimeout(fn, ms) : (fn, ms) => globalThis.setTimeout(fn, ms);
    this._clearTimeout = timers ? (id) => timers.clearTimeout(id) : (id) => globalThis.clearTimeout(id);
    this._now = options.now ?? (() => Date.now());
    this._random = options.random ?? Math.random;
    this._backoff = { ...DEFAULT_BACKOFF, ...options.backoff ?? {} };
  }
  get status() {
    return this._status;
  }
  /** Open and authenticated. */
  get authenticated() {
    return this._authenticated;
  }
  /** Whether the server confirmed that it packs several messages per frame. */
  get batch() {
    return this._batch;
  }
  start() {
    if (this._started && !this._closed) return;
    this._started = true;
    this._closed = false;
    this._attempt = 0;
    this._listen();
    this._open();
  }
  stop() {
    this._closed = true;
    this._started = false;
    this._unlisten?.();
    this._unlisten = null;
    this._cancel("_reconnectTimer");
    const socket = this._socket;
    this._teardown();
    if (socket) {
      try {
        socket.close(1e3, "client closed");
      } catch {
      }
    }
    this._setStatus(Status.Closed);
  }
  /** Sends on the authenticated socket; false when there is none. */
  send(message) {
    if (!this._socket || !this._authenticated) return false;
    return this._send(this._socket, message);
  }
  // ── lifecycle ──────────────────────────────────────────────────────────────
  _open() {
    this._reconnectTimer = null;
    if (this._closed) return;
    this._setStatus(this._everLive || this._attempt > 0 ? Status.Reconnecting : Status.Connecting);
    const generation = ++this._generation;
    let socket;
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
    }, this._o.connectTimeoutMs ?? 1e4);
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
    };
  }
  async _authenticate(socket, current) {
    let token;
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
    const message = { type: "auth", token };
    if (this._o.batch !== false) message.batch = true;
    this._send(socket, message);
  }
  _receive(raw, socket, current) {
    this._lastReceivedAt = this._now();
    for (const msg of parseFrame(raw, this._batch)) {
      if (!current()) return;
      this._handle(msg, socket, current);
    }
  }
  _handle(msg, socket, current) {
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
          if (this._reauthTimer !== null) return;
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
  _refused(socket, why) {
    this._authFailures += 1;
    this._abandon(socket, why);
  }
  /** Pings every pingIntervalMs, and gives up on a socket from which nothing came for two intervals. */
  _schedulePing(socket, current) {
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
  _abandon(socket, why) {
    try {
      socket.close(4e3, why.slice(0, 100));
    } catch {
    }
    this._dropped(why);
  }
  /** The server ended the session for good: like stop(), without a reconnect. */
  _ended(why) {
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
  _dropped(why) {
    this._debug(`connection lost: ${why}`);
    this._teardown();
    this._events.lost();
    if (!this._closed) {
      this._setStatus(Status.Reconnecting);
      this._scheduleReconnect();
    }
  }
  _teardown() {
    this._generation += 1;
    this._socket = null;
    this._authenticated = false;
    this._batch = false;
    this._cancel("_pingTimer");
    this._cancel("_connectTimer");
    this._cancel("_reauthTimer");
  }
  _scheduleReconnect() {
    if (this._closed || this._reconnectTimer !== null) return;
    const delay = backoffDelay(Math.max(this._attempt, this._authFailures), this._backoff, this._random);
    this._attempt += 1;
    this._debug(`reconnecting in ${delay} ms`);
    this._reconnectTimer = this._setTimeout(() => this._open(), delay);
  }
  /** "online" or the tab visible again: a pending reconnect runs now (unless it is a token refusal's backoff). */
  _resume() {
    if (this._closed || !this._started) return;
    if (this._reconnectTimer !== null && this._authFailures === 0) {
      this._cancel("_reconnectTimer");
      this._open();
    } else if (this._socket && this._authenticated && this._now() - this._lastReceivedAt > this._pingIntervalMs) {
      this._send(this._socket, { type: "ping" });
    }
  }
  _listen() {
    if (this._unlisten || this._o.resume === false) return;
    const target = this._o.resume?.target ?? (typeof globalThis.addEventListener === "function" ? globalThis : null);
    if (!target) return;
    const visible = this._o.resume?.visible ?? (() => globalThis.document?.visibilityState !== "hidden");
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
  _send(socket, message) {
    try {
      socket.send(JSON.stringify(message));
      return true;
    } catch (err) {
      this._debug("send failed", err);
      return false;
    }
  }
  _setStatus(status) {
    if (this._status === status) return;
    this._status = status;
    this._events.status(status);
  }
  _cancel(field) {
    if (this[field] !== null) {
      this._clearTimeout(this[field]);
      this[field] = null;
    }
  }
  _debug(...args) {
    this._o.logger?.debug?.("[live-updates]", ...args);
  }
};

// src/realtime-data.ts
export class RealtimeDataError extends Error {
  guildId;
  path;
  /** The HTTP status of a non-2xx answer, else undefined (network failure, a custom fetchData's error). */
  status;
  constructor(message, guildId, path, options = {}) {
    super(message, options.cause === void 0 ? void 0 : { cause: options.cause });
    this.name = "RealtimeDataError";
    this.guildId = guildId;
    this.path = path;
    this.status = options.status;
  }
};
function toRealtimeDataError(err, guildId, path) {
  if (err instanceof RealtimeDataError && err.guildId === guildId && err.path === path) return err;
  const status = err instanceof RealtimeDataError ? err.status : void 0;
  return new RealtimeDataError(err instanceof Error ? err.message : String(err), guildId, path, { cause: err, status });
}
function unwrapSuccessData(body, response) {
  const b = body;
  if (!response.ok || !b || b.success !== true) throw new Error(b?.error?.message ?? `HTTP ${response.status}`);
  return b.data;
}
function defaultFetchData(fetchImpl, api = {}) {
  const base = api.base ?? "";
  const url = api.url ?? ((guildId, path, b) => `${b}/api/guilds/${encodeURIComponent(guildId)}/${path}`);
  const unwrap = api.unwrap ?? unwrapSuccessData;
  return async (guildId, path) => {
    const headers = { Accept: "application/json", ...api.init?.headers };
    const response = await fetchImpl(url(guildId, path, base), { cache: "no-store", ...api.init, headers });
    let body = null;
    try {
      body = await response.json();
    } catch {
    }
    try {
      return await unwrap(body, response);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RealtimeDataError(message.startsWith("HTTP ") ? `${message} for ${path}` : message, guildId, path, {
        cause: err,
        status: response.ok ? void 0 : response.status
      });
    }
  };
}
function realtimeData(host, fetcher, options) {
  const { guildId, path, events, onEvent, onChange } = options;
  const fetchData = options.fetchData ?? fetcher;
  const initial = options.initialData !== void 0;
  const state = { data: initial ? options.initialData : null, loading: !initial, error: null, fetches: 0 };
  let stopped = false;
  let running = null;
  let again = false;
  let coveredBySubscription = false;
  const notify = () => {
    if (!stopped && onChange) onChange({ data: state.data, loading: state.loading, error: state.error });
  };
  const refetch = () => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    coveredBySubscription = host.isSubscribed(guildId);
    state.loading = true;
    state.fetches += 1;
    notify();
    let run;
    run = (async () => {
      await null;
      try {
        const data = await fetchData(guildId, path);
        if (!stopped) {
          state.data = data;
          state.error = null;
        }
      } catch (err) {
        if (!stopped) state.error = toRealtimeDataError(err, guildId, path);
      } finally {
        if (running === run) running = null;
        state.loading = false;
      }
      if (again && !stopped) {
        again = false;
        notify();
        return refetch();
      }
      notify();
    })();
    running = run;
    return run;
  };
  const leave = host.joinGuild(guildId);
  const offs = (events ?? []).map(
    (event) => host.on(guildId, event, (data, envelope) => {
      if (stopped) return;
      if (!onEvent || state.data === null) {
        void refetch();
        return;
      }
      const result = onEvent(envelope.event, data, state.data);
      if (result === "refetch") {
        void refetch();
        return;
      }
      state.data = result;
      if (running) again = true;
      notify();
    })
  );
  offs.push(
    host.onSync(guildId, ({ recovered }) => {
      if (recovered === false || recovered === void 0 && !coveredBySubscription) void refetch();
    })
  );
  if (!initial) void refetch();
  return {
    get data() {
      return state.data;
    },
    get loading() {
      return state.loading;
    },
    get error() {
      return state.error;
    },
    get fetchCount() {
      return state.fetches;
    },
    refetch,
    stop() {
      if (stopped) return;
      stopped = true;
      for (const off of offs) off();
      leave();
    }
  };
}

// src/subscription.ts
export class SubscriptionError extends Error {
  /** The server's error code (`FORBIDDEN`, `TOO_MANY_GUILDS`, …), or `LEFT` when every join was undone first. */
  code;
  guildId;
  constructor(guildId, code, message) {
    super(message ?? `subscription to guild ${guildId} ended: ${code}`);
    this.name = "SubscriptionError";
    this.code = code;
    this.guildId = guildId;
  }
};
export class GuildSubscription {
  guildId;
  /** @internal */
  _refs = 0;
  /** @internal */
  _state = "unsubscribed";
  /** @internal */
  _lastSeq = null;
  /** @internal */
  _epoch = null;
  /** @internal */
  _everSubscribed = false;
  /** @internal */
  _refused = null;
  /** @internal */
  _refusedMessage = void 0;
  _waiters = [];
  /** @internal */
  constructor(guildId) {
    this.guildId = guildId;
  }
  /** How many joins are active. */
  get refs() {
    return this._refs;
  }
  get state() {
    return this._state;
  }
  /** The last event position seen (`seq`), or null before the first `subscribed`. */
  get lastSeq() {
    return this._lastSeq;
  }
  /** The server's stream epoch for that position. */
  get epoch() {
    return this._epoch;
  }
  /** The error code the server refused this subscription with (not retried until joined afresh), else null. */
  get refused() {
    return this._refused;
  }
  /** The refusal as an error (code, guildId, the server's message), or null while not refused. */
  get error() {
    return this._refused === null ? null : new SubscriptionError(this.guildId, this._refused, this._refusedMessage);
  }
  /**
   * Resolves once the server has confirmed the subscription on the current connection (at once if it has); rejects
   * with a SubscriptionError when the server refuses it or every join is undone first.
   */
  ready() {
    if (this._state === "subscribed") return Promise.resolve();
    if (this._refused !== null) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }
  /** @internal The server confirmed it: state, and the position to recover from next time. */
  _confirmed(seq, epoch, recovered) {
    this._state = "subscribed";
    this._everSubscribed = true;
    if (recovered !== true) {
      this._epoch = epoch;
      this._lastSeq = seq;
    }
    this._settle((w) => w.resolve());
  }
  /** @internal The server refused it or revoked it: not retried until joined afresh. */
  _refuse(code, message) {
    this._state = "unsubscribed";
    this._refused = code;
    this._refusedMessage = message;
    this._forgetPosition();
    const error = this.error;
    this._settle((w) => w.reject(error));
  }
  /** @internal Every join was undone. */
  _left() {
    this._settle((w) => w.reject(new SubscriptionError(this.guildId, "LEFT")));
  }
  /** @internal */
  _forgetPosition() {
    this._lastSeq = null;
    this._epoch = null;
    this._everSubscribed = false;
  }
  _settle(fn) {
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) fn(w);
  }
};

// src/client.ts
var WILDCARD = "*";
var DEFAULT_RATE = Object.freeze({ max: 4, perMs: 1e3 });
export class LiveUpdatesClient {
  _connection;
  _now;
  _setTimeout;
  _clearTimeout;
  _rate;
  _fetchData;
  _reportError;
  _pumpTimer = null;
  _sentOps = [];
  _guilds = /* @__PURE__ */ new Map();
  _listeners = /* @__PURE__ */ new Map();
  _statusListeners = /* @__PURE__ */ new Set();
  _syncListeners = /* @__PURE__ */ new Map();
  _errorListeners = /* @__PURE__ */ new Set();
  _subscriptionListeners = /* @__PURE__ */ new Set();
  constructor(options) {
    if (!options || typeof options.url !== "string" || options.url === "") {
      throw new TypeError("LiveUpdatesClient: options.url (the WebSocket URL, e.g. ws://localhost:3002) is required");
    }
    if (options.token === void 0 || options.token === null) {
      throw new TypeError("LiveUpdatesClient: options.token (a string or a function returning one) is required");
    }
    const timers = options.timers;
    this._setTimeout = timers ? (fn, ms) => timers.setTimeout(fn, ms) : (fn, ms) => globalThis.setTimeout(fn, ms);
    this._clearTimeout = timers ? (id) => timers.clearTimeout(id) : (id) => globalThis.clearTimeout(id);
    this._now = options.now ?? (() => Date.now());
    this._rate = { ...DEFAULT_RATE, ...options.subscribeRate ?? {} };
    const fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
    this._fetchData = options.fetchData ?? defaultFetchData(fetchImpl, { base: options.apiBase, ...options.api });
    this._reportError = options.reportError ?? defaultReportError;
    this._connection = new Connection(options, {
      status: (status) => {
        for (const handler of [...this._statusListeners]) this._safeCall(handler, status, this._connection.authenticated);
      },
      authenticated: () => this._pump(),
      lost: () => this._lost(),
      message: (msg) => this._message(msg)
    });
  }
  /** True while the socket is open and authenticated. */
  get connected() {
    return this._connection.authenticated;
  }
  get status() {
    return this._connection.status;
  }
  /** Whether the server packs several messages per frame on this connection (it confirmed `batch`). */
  get batch() {
    return this._connection.batch;
  }
  /** Opens the connection (once); it then stays up, reconnecting as needed, until close(). */
  connect() {
    this._connection.start();
  }
  /** Closes the connection and stops reconnecting. Joined guilds and listeners are kept for a later connect(). */
  close() {
    this._connection.stop();
  }
  /**
   * Joins a guild's room. Calls are counted: the room is left when every join has been matched by a leave, so two
   * widgets on one page never unsubscribe each other. Returns a function that leaves once (further calls do nothing).
   */
  joinGuild(guildId) {
    assertGuildId(guildId);
    let guild = this._guilds.get(guildId);
    if (!guild) {
      guild = new GuildSubscription(guildId);
      this._guilds.set(guildId, guild);
    }
    guild._refs += 1;
    if (guild._refs === 1) guild._refused = null;
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
  leaveGuild(guildId) {
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
  joinCount(guildId) {
    return this._guilds.get(guildId)?._refs ?? 0;
  }
  /** The guild's subscription (state, lastSeq/epoch, ready()), while it is joined or being left. */
  subscription(guildId) {
    return this._guilds.get(guildId);
  }
  /** True when the server has confirmed the subscription to guildId on the current connection. */
  isSubscribed(guildId) {
    return this._guilds.get(guildId)?._state === "subscribed" && this._connection.authenticated;
  }
  on(guildId, event, handler) {
    assertGuildId(guildId);
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    return addTo(this._listeners, `${guildId}\0${event}`, handler);
  }
  /** How many event listeners are registered (all guilds), for diagnostics and leak tests. */
  listenerCount() {
    let n = 0;
    for (const set of this._listeners.values()) n += set.size;
    for (const set of this._syncListeners.values()) n += set.size;
    return n;
  }
  /** Listens to status changes: handler(status, connected). Returns a function that removes it. */
  onStatus(handler) {
    this._statusListeners.add(handler);
    return () => this._statusListeners.delete(handler);
  }
  /**
   * Listens to subscriptions of guildId that did not recover: `recovered: false` means events were missed and the
   * page must refetch; `recovered: undefined` is a first subscription (nothing to recover). Returns a function that removes it.
   */
  onSync(guildId, handler) {
    return addTo(this._syncListeners, guildId, handler);
  }
  /**
   * Where a guild stands for this page: `idle` (not joined), `pending` (joined, not confirmed on the current
   * connection yet: connecting, subscribing, or waiting for a reconnect), `subscribed`, or `refused` (the server
   * refused or revoked it: `FORBIDDEN`, `TOO_MANY_GUILDS`, …; not retried until joined afresh).
   */
  guildState(guildId) {
    const guild = this._guilds.get(guildId);
    if (!guild || guild._refs === 0) return "idle";
    if (guild._refused !== null) return "refused";
    return guild._state === "subscribed" && this._connection.authenticated ? "subscribed" : "pending";
  }
  /** The joined guilds the server refused (their subscriptions' errors). */
  refusedGuilds() {
    const refused = [];
    for (const guild of this._guilds.values()) if (guild._refs > 0 && guild._refused !== null) refused.push(guild.error);
    return refused;
  }
  /** Called with a guild's id whenever its guildState() may have changed. Returns a function that removes it. */
  onSubscriptionChange(handler) {
    this._subscriptionListeners.add(handler);
    return () => this._subscriptionListeners.delete(handler);
  }
  /** Listens to the server's `error` messages. */
  onError(handler) {
    this._errorListeners.add(handler);
    return () => this._errorListeners.delete(handler);
  }
  /** The seed's useRealtimeData without React: fetch, then patch or refetch on events; refetch when recovery fails. */
  realtimeData(options) {
    assertGuildId(options?.guildId);
    if (typeof options.path !== "string") throw new TypeError("path must be a string");
    return realtimeData(this, this._fetchData, options);
  }
  // ── messages ───────────────────────────────────────────────────────────────
  _message(msg) {
    if (msg.type === "refetch" || msg.event === "refetch") {
      this._refetch(msg);
      return;
    }
    switch (msg.event) {
      case "subscribed":
        this._subscribed(msg);
        return;
      case "unsubscribed": {
        const guild = this._guilds.get(msg.guildId ?? msg.data?.guildId);
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
  _subscribed(msg) {
    const guildId = msg.guildId ?? msg.data?.guildId;
    const guild = this._guilds.get(guildId);
    if (!guild) return;
    const data = msg.data ?? {};
    const recovered = data.recovered;
    const resubscribed = guild._everSubscribed;
    guild._confirmed(typeof data.seq === "number" ? data.seq : null, data.epoch ?? null, recovered);
    this._changed(guildId);
    if (guild._refs > 0 && recovered !== true) this._sync(guild, recovered === false ? false : void 0, resubscribed);
    this._pump();
  }
  /** The server lost events of this guild up to a position (e.g. a dropped broadcast): continue from there, refetch. */
  _refetch(msg) {
    const guildId = msg.guildId ?? msg.data?.guildId;
    const guild = this._guilds.get(guildId);
    if (!guild || guild._refs === 0 || guild._state !== "subscribed") return;
    const data = msg.data ?? {};
    if (typeof data.seq === "number") guild._lastSeq = data.seq;
    if (typeof data.epoch === "string") guild._epoch = data.epoch;
    this._sync(guild, false, true);
  }
  _sync(guild, recovered, resubscribed) {
    for (const handler of [...this._syncListeners.get(guild.guildId) ?? []]) {
      this._safeCall(handler, { guildId: guild.guildId, recovered, resubscribed });
    }
  }
  _serverError(msg) {
    const data = msg.data ?? {};
    const code = data.code;
    const guildId = msg.guildId;
    const guild = guildId ? this._guilds.get(guildId) : void 0;
    if (guild && code === "AUTH_REQUIRED") {
      guild._state = "unsubscribed";
      this._changed(guild.guildId);
    } else if (guild && (guild._state === "subscribing" || guild._state === "subscribed")) {
      guild._refuse(code ?? "ERROR", data.message);
      this._changed(guild.guildId);
    }
    for (const handler of [...this._errorListeners]) this._safeCall(handler, { code, message: data.message, guildId });
  }
  _dispatch(msg) {
    const guild = this._guilds.get(msg.guildId);
    if (!guild || guild._refs === 0 || guild._state === "unsubscribing") return;
    if (typeof msg.seq === "number") {
      if (msg.epoch === guild._epoch && guild._lastSeq !== null && msg.seq <= guild._lastSeq) return;
      guild._lastSeq = msg.seq;
      guild._epoch = msg.epoch ?? guild._epoch;
    }
    for (const handler of [...this._listeners.get(`${msg.guildId}\0${msg.event}`) ?? []]) {
      this._safeCall(handler, msg.data, msg);
    }
    for (const handler of [...this._listeners.get(`${msg.guildId}\0${WILDCARD}`) ?? []]) {
      this._safeCall(handler, { event: msg.event, data: msg.data }, msg);
    }
  }
  /** The session or the socket went away: the server forgot every subscription. */
  _lost() {
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
  _pump() {
    if (!this._connection.authenticated || this._pumpTimer !== null) return;
    for (const [guildId, guild] of this._guilds) {
      const wanted = guild._refs > 0 && guild._refused === null;
      let message = null;
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
        const wait = this._rate.perMs - (now - this._sentOps[0]);
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
  _changed(guildId) {
    for (const handler of [...this._subscriptionListeners]) this._safeCall(handler, guildId);
  }
  /** Calls a listener; one faulty listener must not stop the others, nor the client. */
  _safeCall(handler, ...args) {
    try {
      handler(...args);
    } catch (err) {
      this._reportError(err);
    }
  }
};
function createLiveUpdatesClient(options) {
  return new LiveUpdatesClient(options);
}
function addTo(map, key, handler) {
  let set = map.get(key);
  if (!set) map.set(key, set = /* @__PURE__ */ new Set());
  set.add(handler);
  return () => {
    set.delete(handler);
    if (set.size === 0 && map.get(key) === set) map.delete(key);
  };
}
function defaultReportError(err) {
  if (typeof globalThis.reportError === "function") {
    globalThis.reportError(err);
  } else {
    queueMicrotask(() => {
      throw err;
    });
  }
}
function assertGuildId(guildId) {
  if (typeof guildId !== "string" || !/^[0-9]{1,20}$/.test(guildId)) {
    throw new TypeError(`guildId must be a Discord snowflake string, got ${JSON.stringify(guildId)}`);
  }
}

// live-events.js
var LiveEvents = Object.freeze({
  Moderation: Object.freeze({
    Plugin: "moderation",
    ConfigUpdated: "moderation:config_updated",
    RuleCreated: "moderation:rule_created",
    RuleUpdated: "moderation:rule_updated",
    RuleDeleted: "moderation:rule_deleted",
    PresetCreated: "moderation:preset_created",
    PresetUpdated: "moderation:preset_updated",
    PresetDeleted: "moderation:preset_deleted",
    InfractionCreated: "moderation:infraction_created",
    InfractionUpdated: "moderation:infraction_updated",
    StatsUpdated: "moderation:stats_updated"
  }),
  Modmail: Object.freeze({
    Plugin: "modmail",
    ConversationCreated: "modmail:conversation_created",
    ConversationUpdated: "modmail:conversation_updated",
    ConversationClosed: "modmail:conversation_closed",
    MessageReceived: "modmail:message_received",
    MessageSent: "modmail:message_sent",
    ConversationClaimed: "modmail:conversation_claimed",
    ConversationUnclaimed: "modmail:conversation_unclaimed",
    ConfigUpdated: "modmail:config_updated",
    StatsUpdated: "modmail:stats_updated"
  }),
  Tickets: Object.freeze({
    Plugin: "tickets",
    TicketCreated: "tickets:ticket_created",
    TicketClosed: "tickets:ticket_closed",
    TicketClaimed: "tickets:ticket_claimed",
    ConfigUpdated: "tickets:config_updated",
    StatsUpdated: "tickets:stats_updated"
  }),
  Suggestions: Object.freeze({
    Plugin: "suggestions",
    SuggestionCreated: "suggestions:suggestion_created",
    StatusChanged: "suggestions:status_changed",
    ConfigUpdated: "suggestions:config_updated",
    StatsUpdated: "suggestions:stats_updated"
  }),
  Tags: Object.freeze({
    Plugin: "tags",
    TagCreated: "tags:tag_created",
    TagUpdated: "tags:tag_updated",
    TagDeleted: "tags:tag_deleted"
  }),
  Logging: Object.freeze({
    Plugin: "logging",
    ConfigUpdated: "logging:config_updated"
  }),
  Welcome: Object.freeze({
    Plugin: "welcome",
    ConfigUpdated: "welcome:config_updated"
  }),
  TempVc: Object.freeze({
    Plugin: "tempvc",
    ConfigUpdated: "tempvc:config_updated",
    ChannelCreated: "tempvc:channel_created",
    ChannelDeleted: "tempvc:channel_deleted",
    StatsUpdated: "tempvc:stats_updated"
  }),
  Minecraft: Object.freeze({
    Plugin: "minecraft",
    StatusUpdated: "minecraft:status_updated",
    PlayerLinked: "minecraft:player_linked",
    ConfigUpdated: "minecraft:config_updated"
  }),
  AttachmentBlocker: Object.freeze({
    Plugin: "attachment-blocker",
    ConfigUpdated: "attachment-blocker:config_updated"
  }),
  Reminders: Object.freeze({
    Plugin: "reminders",
    ReminderCreated: "reminders:reminder_created",
    ReminderTriggered: "reminders:reminder_triggered",
    ReminderDeleted: "reminders:reminder_deleted"
  }),
  VcTranscription: Object.freeze({
    Plugin: "vc-transcription",
    ConfigUpdated: "vc-transcription:config_updated"
  }),
  Dashboard: Object.freeze({
    Plugin: "dashboard",
    PermissionsUpdated: "dashboard:permissions_updated",
    MemberAccessUpdated: "dashboard:member_access_updated",
    SettingsUpdated: "dashboard:settings_updated"
  })
});
var LiveEventNames = Object.freeze([
  "moderation:config_updated",
  "moderation:rule_created",
  "moderation:rule_updated",
  "moderation:rule_deleted",
  "moderation:preset_created",
  "moderation:preset_updated",
  "moderation:preset_deleted",
  "moderation:infraction_created",
  "moderation:infraction_updated",
  "moderation:stats_updated",
  "modmail:conversation_created",
  "modmail:conversation_updated",
  "modmail:conversation_closed",
  "modmail:message_received",
  "modmail:message_sent",
  "modmail:conversation_claimed",
  "modmail:conversation_unclaimed",
  "modmail:config_updated",
  "modmail:stats_updated",
  "tickets:ticket_created",
  "tickets:ticket_closed",
  "tickets:ticket_claimed",
  "tickets:config_updated",
  "tickets:stats_updated",
  "suggestions:suggestion_created",
  "suggestions:status_changed",
  "suggestions:config_updated",
  "suggestions:stats_updated",
  "tags:tag_created",
  "tags:tag_updated",
  "tags:tag_deleted",
  "logging:config_updated",
  "welcome:config_updated",
  "tempvc:config_updated",
  "tempvc:channel_created",
  "tempvc:channel_deleted",
  "tempvc:stats_updated",
  "minecraft:status_updated",
  "minecraft:player_linked",
  "minecraft:config_updated",
  "attachment-blocker:config_updated",
  "reminders:reminder_created",
  "reminders:reminder_triggered",
  "reminders:reminder_deleted",
  "vc-transcription:config_updated",
  "dashboard:permissions_updated",
  "dashboard:member_access_updated",
  "dashboard:settings_updated"
]);
export {
  LiveEventNames,
  LiveEvents,
  Status,
  backoffDelay,
  createLiveUpdatesClient,
  unwrapSuccessData
};
