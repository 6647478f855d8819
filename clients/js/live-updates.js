// LiveUpdates browser client: one ES module, no dependencies, no build step.
//
// Connects to the bot's LiveUpdates WebSocket server, authenticates on open, joins guild rooms with reference
// counting, pings at the server's pingIntervalMs, reconnects with capped exponential backoff and jitter, and
// after a reconnect re-subscribes every joined guild with its lastSeq/epoch so the server can replay what was
// missed (`subscribed` with `recovered: true`) or say plainly that the page must refetch (`recovered: false`).
// realtimeData() is the seed plan's useRealtimeData without React: fetch, then patch or refetch on events.
//
// Types: live-updates.d.ts. Protocol: the README's "Protocol" section.

/** Connection states, as shown by a connection indicator. */
export const Status = Object.freeze({
  /** First connection attempt, not yet authenticated. */
  Connecting: "connecting",
  /** Open and authenticated: events flow. */
  Live: "live",
  /** The connection dropped (or never came up); a new attempt is scheduled or running. */
  Reconnecting: "reconnecting",
  /** close() was called. */
  Closed: "closed",
});

const DEFAULTS = Object.freeze({
  backoff: Object.freeze({ initialMs: 500, maxMs: 15000, factor: 2 }),
  // The server allows 5 subscribe/unsubscribe messages per second; stay under it when re-subscribing many guilds.
  subscribeRate: Object.freeze({ max: 4, perMs: 1000 }),
  // Used until the server's `connected` message says otherwise.
  pingIntervalMs: 20000,
});

// Error codes after which the token itself was refused: get a fresh one on the next attempt.
const TOKEN_ERRORS = new Set(["TOKEN_MISSING", "TOKEN_INVALID", "TOKEN_NOT_YET_VALID", "TOKEN_USER_MISSING", "AUTH_TIMEOUT"]);

const WILDCARD = "*";

/**
 * Delay before reconnect attempt number `attempt` (0-based): exponential, capped at maxMs, with "equal jitter"
 * (half fixed, half random) so that many pages dropped at once by a restart do not come back in lockstep.
 */
export function backoffDelay(attempt, backoff = DEFAULTS.backoff, random = Math.random) {
  const { initialMs, maxMs, factor } = { ...DEFAULTS.backoff, ...backoff };
  const ceiling = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Reads `{ success, data }` from the bot's plugin API, as the dashboard's fetchApi does. */
async function defaultFetchData(fetchImpl, apiBase, guildId, path) {
  const response = await fetchImpl(`${apiBase}/api/guilds/${encodeURIComponent(guildId)}/${path}`, {
    headers: { Accept: "application/json" },
    cache: "no-store",
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: reported below
  }
  if (!response.ok || !body || body.success !== true) {
    throw new Error(body?.error?.message ?? `HTTP ${response.status} for ${path}`);
  }
  return body.data;
}

export class LiveUpdatesClient {
  /** @param {import("./live-updates").LiveUpdatesOptions} options */
  constructor(options) {
    if (!options || typeof options.url !== "string" || options.url === "") {
      throw new TypeError("LiveUpdatesClient: options.url (the WebSocket URL, e.g. ws://localhost:3002) is required");
    }
    if (options.token === undefined || options.token === null) {
      throw new TypeError("LiveUpdatesClient: options.token (a string or a function returning one) is required");
    }

    this._url = options.url;
    this._token = options.token;
    this._WebSocket = options.WebSocket ?? globalThis.WebSocket;
    const timers = options.timers ?? {};
    this._setTimeout = timers.setTimeout ?? ((fn, ms) => globalThis.setTimeout(fn, ms));
    this._clearTimeout = timers.clearTimeout ?? ((id) => globalThis.clearTimeout(id));
    this._now = options.now ?? (() => Date.now());
    this._random = options.random ?? Math.random;
    this._backoff = { ...DEFAULTS.backoff, ...(options.backoff ?? {}) };
    this._rate = { ...DEFAULTS.subscribeRate, ...(options.subscribeRate ?? {}) };
    const fetchImpl = options.fetch ?? ((...args) => globalThis.fetch(...args));
    const apiBase = options.apiBase ?? "";
    this._fetchData = options.fetchData ?? ((guildId, path) => defaultFetchData(fetchImpl, apiBase, guildId, path));
    this._log = options.logger ?? null;
    this._reportError = options.reportError ?? defaultReportError;

    this._socket = null;
    this._generation = 0; // bumps with every socket: callbacks of an older socket are ignored
    this._status = Status.Connecting;
    this._authenticated = false;
    this._started = false;
    this._closed = false;
    this._everLive = false;
    this._attempt = 0;
    this._reconnectTimer = null;
    this._pingTimer = null;
    this._pumpTimer = null;
    this._pingIntervalMs = DEFAULTS.pingIntervalMs;
    this._lastReceivedAt = 0;
    this._sentOps = []; // send times of recent subscribe/unsubscribe messages

    /** @type {Map<string, {refs: number, server: string, lastSeq: number|null, epoch: string|null, everSubscribed: boolean, refused: string|null}>} */
    this._guilds = new Map();
    /** @type {Map<string, Set<Function>>} */
    this._listeners = new Map();
    this._statusListeners = new Set();
    this._syncListeners = new Map();
    this._errorListeners = new Set();
  }

  /** True while the socket is open and authenticated. */
  get connected() {
    return this._authenticated;
  }

  /** One of Status. */
  get status() {
    return this._status;
  }

  /** Opens the connection (once); it then stays up, reconnecting as needed, until close(). */
  connect() {
    if (this._started && !this._closed) return;
    this._started = true;
    this._closed = false;
    this._attempt = 0;
    this._open();
  }

  /** Closes the connection and stops reconnecting. Joined guilds and listeners are kept for a later connect(). */
  close() {
    this._closed = true;
    this._started = false;
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

  /**
   * Joins a guild's room. Calls are counted: the room is left when every join has been matched by a leave, so two
   * widgets on one page never unsubscribe each other. Returns a function that leaves once (further calls do nothing).
   */
  joinGuild(guildId) {
    assertGuildId(guildId);
    let guild = this._guilds.get(guildId);
    if (!guild) {
      guild = { refs: 0, server: "none", lastSeq: null, epoch: null, everSubscribed: false, refused: null };
      this._guilds.set(guildId, guild);
    }
    guild.refs += 1;
    if (guild.refs === 1) guild.refused = null; // a fresh join may try again after FORBIDDEN
    this._pump();
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
    if (!guild || guild.refs === 0) return;
    guild.refs -= 1;
    if (guild.refs === 0) this._pump();
  }

  /** How many joins guildId has (0 when not joined). */
  joinCount(guildId) {
    return this._guilds.get(guildId)?.refs ?? 0;
  }

  /** True when the server has confirmed the subscription to guildId on the current connection. */
  isSubscribed(guildId) {
    return this._guilds.get(guildId)?.server === "subscribed" && this._authenticated;
  }

  /**
   * Listens to `event` of `guildId` ("*" for every event of that guild). The handler gets `(data, envelope)`;
   * a wildcard handler gets `({ event, data }, envelope)` as in the seed. Returns a function that removes it.
   */
  on(guildId, event, handler) {
    assertGuildId(guildId);
    if (typeof handler !== "function") throw new TypeError("handler must be a function");
    return addTo(this._listeners, `${guildId}\u0000${event}`, handler);
  }

  /** Listens to status changes: handler(status, connected). Returns a function that removes it. */
  onStatus(handler) {
    this._statusListeners.add(handler);
    return () => this._statusListeners.delete(handler);
  }

  /**
   * Listens to subscriptions of guildId that did not recover: handler({ guildId, recovered, resubscribed }).
   * `recovered: false` means events were missed and the page must refetch; `recovered: undefined` is a first
   * subscription (nothing to recover). Returns a function that removes it.
   */
  onSync(guildId, handler) {
    return addTo(this._syncListeners, guildId, handler);
  }

  /** Listens to the server's `error` messages: handler({ code, message, guildId? }). */
  onError(handler) {
    this._errorListeners.add(handler);
    return () => this._errorListeners.delete(handler);
  }

  /**
   * The seed's useRealtimeData without React: joins the guild, fetches `path` (relative to /api/guilds/{guildId}/),
   * then on each of `events` either refetches or patches through onEvent (which returns the new data or "refetch").
   * It refetches whenever a re-subscription could not recover (`recovered: false`), and once when the first
   * subscription is confirmed if its first fetch started before (events in between would be lost otherwise).
   * A refetch asked for while one is running runs once more after it, so no event is lost to an older response.
   */
  realtimeData({ guildId, path, events, onEvent, onChange, fetchData }) {
    assertGuildId(guildId);
    if (typeof path !== "string") throw new TypeError("path must be a string");
    const fetcher = fetchData ?? this._fetchData;
    const state = { data: null, loading: true, error: null, fetches: 0 };
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
      coveredBySubscription = this.isSubscribed(guildId);
      state.loading = true;
      state.fetches += 1;
      notify();
      const run = (async () => {
        await null; // `running` is set before anything below can finish
        try {
          const data = await fetcher(guildId, path);
          if (!stopped) {
            state.data = data;
            state.error = null;
          }
        } catch (err) {
          if (!stopped) state.error = err instanceof Error ? err.message : String(err);
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

    const leave = this.joinGuild(guildId);
    const offs = (events ?? []).map((event) =>
      this.on(guildId, event, (data, envelope) => {
        if (stopped) return;
        if (!onEvent || state.data === null) {
          refetch();
          return;
        }
        const result = onEvent(envelope.event, data, state.data);
        if (result === "refetch") {
          refetch();
          return;
        }
        state.data = result;
        if (running) again = true; // the response in flight may predate this event
        notify();
      }),
    );
    offs.push(
      this.onSync(guildId, ({ recovered }) => {
        if (recovered === false || (recovered === undefined && !coveredBySubscription)) refetch();
      }),
    );

    refetch();
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
      /** How many fetches were started (for tests and diagnostics). */
      get fetchCount() {
        return state.fetches;
      },
      refetch,
      stop() {
        if (stopped) return;
        stopped = true;
        for (const off of offs) off();
        leave();
      },
    };
  }

  // ── connection ─────────────────────────────────────────────────────────────

  _open() {
    this._reconnectTimer = null;
    if (this._closed) return;
    this._setStatus(this._everLive || this._attempt > 0 ? Status.Reconnecting : Status.Connecting);
    const generation = ++this._generation;
    let socket;
    try {
      socket = new this._WebSocket(this._url);
    } catch (err) {
      this._debug("WebSocket constructor failed", err);
      this._scheduleReconnect();
      return;
    }
    this._socket = socket;
    const current = () => generation === this._generation && this._socket === socket;
    socket.onopen = () => {
      if (current()) this._authenticate(socket, current);
    };
    socket.onmessage = (e) => {
      if (current()) this._receive(e.data, socket, current);
    };
    socket.onclose = (e) => {
      if (current()) this._dropped(`closed ${e?.code ?? ""} ${e?.reason ?? ""}`.trim());
    };
    socket.onerror = () => {
      // A close event follows; nothing else to do.
    };
  }

  async _authenticate(socket, current) {
    let token;
    try {
      token = typeof this._token === "function" ? await this._token() : this._token;
    } catch (err) {
      this._debug("token provider failed", err);
      if (current()) this._abandon(socket, "token provider failed");
      return;
    }
    if (!current()) return;
    if (typeof token !== "string" || token === "") {
      this._abandon(socket, "no token");
      return;
    }
    this._send(socket, { type: "auth", token });
  }

  _receive(raw, socket, current) {
    this._lastReceivedAt = this._now();
    let msg;
    try {
      msg = JSON.parse(typeof raw === "string" ? raw : String(raw));
    } catch {
      this._debug("ignored a frame that is not JSON");
      return;
    }
    switch (msg?.event) {
      case "connected":
        if (typeof msg.data?.pingIntervalMs === "number" && msg.data.pingIntervalMs > 0) {
          this._pingIntervalMs = msg.data.pingIntervalMs;
        }
        this._schedulePing(socket, current);
        return;
      case "authenticated":
        this._authenticated = true;
        this._everLive = true;
        this._attempt = 0;
        this._setStatus(Status.Live);
        this._pump();
        return;
      case "subscribed":
        this._subscribed(msg);
        return;
      case "unsubscribed": {
        const guild = this._guilds.get(msg.guildId ?? msg.data?.guildId);
        if (guild) guild.server = "none";
        this._pump();
        return;
      }
      case "pong":
        return;
      case "error":
        this._serverError(msg, socket, current);
        return;
      default:
        if (typeof msg?.event === "string" && typeof msg.guildId === "string") this._dispatch(msg);
    }
  }

  _subscribed(msg) {
    const guildId = msg.guildId ?? msg.data?.guildId;
    const guild = this._guilds.get(guildId);
    if (!guild) return;
    guild.server = "subscribed";
    const data = msg.data ?? {};
    const recovered = data.recovered;
    const resubscribed = guild.everSubscribed;
    guild.everSubscribed = true;
    if (recovered !== true) {
      // Nothing will be replayed: the stream continues from the server's current position.
      guild.epoch = data.epoch ?? null;
      guild.lastSeq = typeof data.seq === "number" ? data.seq : null;
    }
    if (guild.refs > 0 && recovered !== true) {
      for (const handler of [...(this._syncListeners.get(guildId) ?? [])]) {
        this._safeCall(handler, { guildId, recovered, resubscribed });
      }
    }
    this._pump();
  }

  _serverError(msg, socket, current) {
    const data = msg.data ?? {};
    const code = data.code;
    const guildId = msg.guildId;
    if (guildId && this._guilds.has(guildId)) {
      // A refused subscribe (FORBIDDEN, TOO_MANY_GUILDS, …), or access revoked while subscribed (FORBIDDEN with
      // the guild's id: the server ended the subscription). Either way: not retried until joined afresh.
      const guild = this._guilds.get(guildId);
      if (guild.server === "subscribing" || guild.server === "subscribed") {
        guild.server = "none";
        guild.refused = code ?? "ERROR";
        guild.lastSeq = null;
        guild.epoch = null;
      }
    }
    for (const handler of [...this._errorListeners]) this._safeCall(handler, { code, message: data.message, guildId });
    if (code === "TOKEN_EXPIRED" || code === "AUTH_REQUIRED") {
      // The session ended but the socket is fine: the server dropped our subscriptions; authenticate again.
      this._authenticated = false;
      for (const guild of this._guilds.values()) guild.server = "none";
      this._setStatus(Status.Reconnecting);
      this._authenticate(socket, current);
    } else if (TOKEN_ERRORS.has(code)) {
      this._abandon(socket, code);
    }
  }

  _dispatch(msg) {
    const guild = this._guilds.get(msg.guildId);
    if (!guild || guild.refs === 0 || guild.server === "unsubscribing") return; // left meanwhile
    if (typeof msg.seq === "number") {
      if (msg.epoch === guild.epoch && guild.lastSeq !== null && msg.seq <= guild.lastSeq) return; // seen already
      guild.lastSeq = msg.seq;
      guild.epoch = msg.epoch ?? guild.epoch;
    }
    for (const handler of [...(this._listeners.get(`${msg.guildId}\u0000${msg.event}`) ?? [])]) {
      this._safeCall(handler, msg.data, msg);
    }
    for (const handler of [...(this._listeners.get(`${msg.guildId}\u0000${WILDCARD}`) ?? [])]) {
      this._safeCall(handler, { event: msg.event, data: msg.data }, msg);
    }
  }

  /** Sends a ping every pingIntervalMs, and gives up on a socket from which nothing came for two intervals. */
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
      socket.close(4000, why.slice(0, 100));
    } catch {
      // already closed
    }
    this._dropped(why);
  }

  _dropped(why) {
    this._debug(`connection lost: ${why}`);
    this._teardown();
    if (!this._closed) {
      this._setStatus(Status.Reconnecting);
      this._scheduleReconnect();
    }
  }

  _teardown() {
    this._generation += 1;
    this._socket = null;
    this._authenticated = false;
    this._cancel("_pingTimer");
    this._cancel("_pumpTimer");
    this._sentOps = [];
    for (const [guildId, guild] of this._guilds) {
      guild.server = "none";
      if (guild.refs === 0) this._guilds.delete(guildId);
    }
  }

  _scheduleReconnect() {
    if (this._closed || this._reconnectTimer !== null) return;
    const delay = backoffDelay(this._attempt, this._backoff, this._random);
    this._attempt += 1;
    this._debug(`reconnecting in ${delay} ms`);
    this._reconnectTimer = this._setTimeout(() => this._open(), delay);
  }

  // ── subscriptions ──────────────────────────────────────────────────────────

  /** Brings the server's subscriptions in line with the joined guilds, within the subscribe rate. */
  _pump() {
    if (!this._authenticated || !this._socket || this._pumpTimer !== null) return;
    for (const [guildId, guild] of this._guilds) {
      const wanted = guild.refs > 0 && guild.refused === null;
      let message = null;
      if (wanted && guild.server === "none") {
        message = { type: "subscribe", guildId };
        if (guild.epoch !== null && guild.lastSeq !== null) {
          message.lastSeq = guild.lastSeq;
          message.epoch = guild.epoch;
        }
      } else if (!wanted && guild.server === "subscribed") {
        message = { type: "unsubscribe", guildId };
      } else if (guild.refs === 0 && guild.server === "none") {
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
        guild.server = "subscribing";
      } else {
        guild.server = "unsubscribing";
        guild.lastSeq = null;
        guild.epoch = null;
        guild.everSubscribed = false;
      }
      this._send(this._socket, message);
    }
  }

  // ── helpers ────────────────────────────────────────────────────────────────

  _send(socket, message) {
    try {
      socket.send(JSON.stringify(message));
    } catch (err) {
      this._debug("send failed", err);
    }
  }

  _setStatus(status) {
    if (this._status === status) return;
    this._status = status;
    for (const handler of [...this._statusListeners]) this._safeCall(handler, status, this._authenticated);
  }

  _cancel(field) {
    if (this[field] !== null) {
      this._clearTimeout(this[field]);
      this[field] = null;
    }
  }

  /** Calls a listener; one faulty listener must not stop the others, nor the client. */
  _safeCall(handler, ...args) {
    try {
      handler(...args);
    } catch (err) {
      this._reportError(err);
    }
  }

  _debug(...args) {
    this._log?.debug?.("[live-updates]", ...args);
  }
}

/** Same as `new LiveUpdatesClient(options)`. */
export function createLiveUpdatesClient(options) {
  return new LiveUpdatesClient(options);
}

function addTo(map, key, handler) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(handler);
  return () => {
    set.delete(handler);
    if (set.size === 0 && map.get(key) === set) map.delete(key);
  };
}

/** Reports a listener's exception the way the browser reports an uncaught one, without unwinding the client. */
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
