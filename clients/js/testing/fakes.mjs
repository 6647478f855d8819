// Test doubles for the client: a scripted WebSocket and a manual clock. No real network, no real time.

/** Timers driven by advance(ms); now() is the fake clock the client is given. */
export class FakeClock {
  constructor() {
    this.time = 0;
    this.nextId = 1;
    this.pending = new Map(); // id -> { at, fn }
  }

  now = () => this.time;

  setTimeout = (fn, ms) => {
    const id = this.nextId++;
    this.pending.set(id, { at: this.time + Math.max(0, ms ?? 0), fn, ms });
    return id;
  };

  clearTimeout = (id) => {
    this.pending.delete(id);
  };

  /** Delays of the timers waiting now, soonest first. */
  delays() {
    return [...this.pending.values()].sort((a, b) => a.at - b.at).map((t) => t.at - this.time);
  }

  /** Moves time forward, running each due timer at its own time (timers it sets run too, if due). */
  async advance(ms) {
    const end = this.time + ms;
    for (;;) {
      let next = null;
      for (const [id, t] of this.pending) {
        if (t.at <= end && (next === null || t.at < next[1].at)) next = [id, t];
      }
      if (next === null) break;
      this.pending.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
      await flush();
    }
    this.time = end;
    await flush();
  }
}

/** Lets pending promise callbacks (token providers, fetches) run. */
export async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** A WebSocket class whose instances the test drives as the server would. */
export function fakeWebSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSING = 2;
    static CLOSED = 3;

    constructor(url) {
      this.url = url;
      this.readyState = FakeWebSocket.CONNECTING;
      this.sent = [];
      this.closedWith = null;
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }

    send(text) {
      if (this.readyState !== FakeWebSocket.OPEN) throw new Error("send on a socket that is not open");
      this.sent.push(JSON.parse(text));
    }

    close(code, reason) {
      this.closedWith = { code, reason };
      this.readyState = FakeWebSocket.CLOSED;
    }

    // ── what the server does ──
    open() {
      this.readyState = FakeWebSocket.OPEN;
      this.onopen?.({});
    }

    receive(message) {
      this.onmessage?.({ data: JSON.stringify(message) });
    }

    /** One text frame as the server wrote it (e.g. several messages joined by "\n" for a batch client). */
    receiveFrame(text) {
      this.onmessage?.({ data: text });
    }

    serverClose(code = 1001, reason = "SERVER_SHUTDOWN") {
      this.readyState = FakeWebSocket.CLOSED;
      this.onclose?.({ code, reason });
    }

    /** Messages of one type sent so far. */
    sentOfType(type) {
      return this.sent.filter((m) => m.type === type);
    }
  }
  return { FakeWebSocket, sockets };
}

/** A server-side envelope of a plugin event. */
export function envelope(guildId, event, data, seq, epoch = "e1") {
  return { event, guildId, data, timestamp: 1, seq, epoch };
}

export function subscribed(guildId, { seq = 0, epoch = "e1", recovered } = {}) {
  const data = { guildId, epoch, seq };
  if (recovered !== undefined) data.recovered = recovered;
  return { event: "subscribed", guildId, data };
}
