// Unit tests of the browser client's logic with a fake WebSocket and a fake clock: `node --test`.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LiveUpdatesClient, RealtimeDataError, Status, backoffDelay, createLiveUpdatesClient } from "../dist/index.js";
import { FakeClock, fakeWebSocketClass, flush, envelope, subscribed } from "../testing/fakes.mjs";

const A = "123456789012345678";
const B = "876543210987654321";

function setup(options = {}) {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  let tokens = 0;
  const client = new LiveUpdatesClient({
    url: "ws://test:3002",
    token: async () => `token-${++tokens}`,
    WebSocket: FakeWebSocket,
    timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout },
    now: clock.now,
    random: () => 0.5,
    fetchData: async () => {
      throw new Error("no fetchData in this test");
    },
    ...options,
  });
  const last = () => sockets[sockets.length - 1];
  /** Opens the newest socket and plays connected + authenticated. */
  async function live(pingIntervalMs = 20000) {
    const socket = last();
    socket.open();
    await flush();
    socket.receive({ event: "connected", data: { message: "hi", authTimeoutMs: 10000, idleTimeoutMs: pingIntervalMs * 3, pingIntervalMs } });
    socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A, B] } });
    await flush();
    return socket;
  }
  return { client, clock, sockets, last, live, tokenCount: () => tokens };
}

describe("backoffDelay", () => {
  test("grows exponentially from initialMs and is capped at maxMs", () => {
    const b = { initialMs: 500, maxMs: 8000, factor: 2 };
    const top = () => 1;
    assert.deepEqual([0, 1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, b, top)), [500, 1000, 2000, 4000, 8000, 8000, 8000]);
  });

  test("jitter keeps each delay between half and all of its ceiling", () => {
    const b = { initialMs: 1000, maxMs: 30000, factor: 2 };
    assert.equal(backoffDelay(2, b, () => 0), 2000);
    assert.equal(backoffDelay(2, b, () => 0.999999), 4000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, b);
      assert.ok(d >= 4000 && d <= 8000, `delay ${d}`);
    }
  });
});

describe("connection", () => {
  test("authenticates on open with the token the provider returns, then reports Live", async () => {
    const { client, last, live } = setup();
    const seen = [];
    client.onStatus((status, connected) => seen.push([status, connected]));
    assert.equal(client.status, Status.Connecting);
    client.connect();
    assert.equal(last().url, "ws://test:3002");
    assert.equal(client.connected, false);
    const socket = await live();
    assert.deepEqual(socket.sent[0], { type: "auth", token: "token-1", batch: true });
    assert.equal(client.connected, true);
    assert.equal(client.status, Status.Live);
    assert.deepEqual(seen, [[Status.Live, true]]);
  });

  test("a plain string token works too", async () => {
    const { client, live } = setup({ token: "fixed" });
    client.connect();
    const socket = await live();
    assert.deepEqual(socket.sent[0], { type: "auth", token: "fixed", batch: true });
  });

  test("requires url and token", () => {
    assert.throws(() => new LiveUpdatesClient({ token: "t" }), /url/);
    assert.throws(() => createLiveUpdatesClient({ url: "ws://x" }), /token/);
  });

  test("reconnects with growing, capped, jittered delays and resets them after a successful auth", async () => {
    const { client, clock, sockets, live } = setup({ backoff: { initialMs: 1000, maxMs: 4000, factor: 2 } });
    client.connect();
    await live();
    sockets[0].serverClose(1001, "SERVER_SHUTDOWN");
    assert.equal(client.status, Status.Reconnecting);
    assert.equal(client.connected, false);

    // random() = 0.5 → three quarters of each ceiling: 1000, 2000, 4000, 4000 (capped).
    const delays = [];
    for (let i = 0; i < 4; i++) {
      delays.push(clock.delays()[0]);
      await clock.advance(clock.delays()[0]);
      assert.equal(sockets.length, i + 2, "a new socket per attempt");
      sockets[i + 1].serverClose(1006, ""); // the server is still down
    }
    assert.deepEqual(delays, [750, 1500, 3000, 3000]);

    await clock.advance(clock.delays()[0]);
    await live();
    assert.equal(client.status, Status.Live);
    sockets[sockets.length - 1].serverClose(1001, "SERVER_SHUTDOWN");
    assert.deepEqual(clock.delays(), [750], "back to the first delay after a successful connection");
  });

  test("a socket that cannot even be constructed is retried with backoff", async () => {
    const clock = new FakeClock();
    let calls = 0;
    const client = new LiveUpdatesClient({
      url: "ws://x",
      token: "t",
      WebSocket: class {
        constructor() {
          calls++;
          throw new Error("blocked");
        }
      },
      timers: clock,
      now: clock.now,
      random: () => 1,
    });
    client.connect();
    assert.equal(calls, 1);
    await clock.advance(500);
    assert.equal(calls, 2);
    client.close();
  });

  test("close() stops reconnecting and reports Closed", async () => {
    const { client, clock, sockets, live } = setup();
    client.connect();
    await live();
    client.close();
    assert.equal(client.status, Status.Closed);
    assert.deepEqual(sockets[0].closedWith.code, 1000);
    sockets[0].serverClose(1000, "CLOSED"); // its late close event changes nothing
    await clock.advance(60000);
    assert.equal(sockets.length, 1);
  });

  test("pings at the server's pingIntervalMs", async () => {
    const { client, clock, live } = setup();
    client.connect();
    const socket = await live(1000);
    await clock.advance(999);
    assert.equal(socket.sentOfType("ping").length, 0);
    await clock.advance(1);
    socket.receive({ event: "pong", data: {} });
    await clock.advance(1000);
    socket.receive({ event: "pong", data: {} });
    assert.equal(socket.sentOfType("ping").length, 2);
  });

  test("gives up on a connection that stopped answering and reconnects", async () => {
    const { client, clock, sockets, live } = setup();
    client.connect();
    const socket = await live(1000);
    await clock.advance(3001); // pings go out, no pong comes back
    assert.ok(socket.closedWith, "the silent socket was closed");
    assert.equal(client.status, Status.Reconnecting);
    await clock.advance(clock.delays()[0]);
    assert.equal(sockets.length, 2);
  });

  test("a refused token is abandoned and a fresh one is asked for on the next attempt", async () => {
    const { client, clock, sockets, tokenCount } = setup();
    client.connect();
    sockets[0].open();
    await flush();
    const errors = [];
    client.onError((e) => errors.push(e.code));
    sockets[0].receive({ event: "error", data: { code: "TOKEN_INVALID", message: "Invalid token" } });
    assert.deepEqual(errors, ["TOKEN_INVALID"]);
    assert.equal(client.status, Status.Reconnecting);
    await clock.advance(clock.delays()[0]);
    sockets[1].open();
    await flush();
    assert.equal(tokenCount(), 2);
    assert.deepEqual(sockets[1].sent[0], { type: "auth", token: "token-2", batch: true });
  });

  test("TOKEN_EXPIRED while connected: authenticates again on the same socket, after a short delay, and re-subscribes", async () => {
    const { client, clock, live } = setup();
    client.joinGuild(A);
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A, { seq: 3, epoch: "e1" }));
    socket.receive(envelope(A, "tags:tag_created", {}, 4));
    socket.receive({ event: "error", data: { code: "TOKEN_EXPIRED", message: "expired" } });
    await flush();
    assert.equal(client.connected, false);
    assert.equal(socket.sentOfType("auth").length, 1, "not at network speed");
    await clock.advance(500);
    assert.deepEqual(socket.sentOfType("auth").map((m) => m.token), ["token-1", "token-2"]);
    socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A] } });
    assert.deepEqual(socket.sentOfType("subscribe")[1], { type: "subscribe", guildId: A, lastSeq: 4, epoch: "e1" });
  });
});

describe("guilds and listeners", () => {
  test("joins are reference counted: two widgets never unsubscribe each other", async () => {
    const { client, live } = setup();
    client.connect();
    const socket = await live();
    const leaveWidget1 = client.joinGuild(A);
    const leaveWidget2 = client.joinGuild(A);
    assert.deepEqual(socket.sentOfType("subscribe"), [{ type: "subscribe", guildId: A }]);
    socket.receive(subscribed(A));
    assert.equal(client.joinCount(A), 2);

    leaveWidget1();
    leaveWidget1(); // a second call of the same leave function does nothing
    assert.equal(socket.sentOfType("unsubscribe").length, 0);
    assert.equal(client.isSubscribed(A), true);

    leaveWidget2();
    assert.deepEqual(socket.sentOfType("unsubscribe"), [{ type: "unsubscribe", guildId: A }]);
    assert.equal(client.joinCount(A), 0);
  });

  test("guilds joined before the connection are subscribed once authenticated", async () => {
    const { client, live } = setup();
    client.joinGuild(A);
    client.joinGuild(B);
    client.connect();
    const socket = await live();
    assert.deepEqual(socket.sentOfType("subscribe").map((m) => m.guildId), [A, B]);
  });

  test("a leave while the subscribe is in flight unsubscribes once it is confirmed", async () => {
    const { client, live } = setup();
    client.connect();
    const socket = await live();
    const leave = client.joinGuild(A);
    leave();
    assert.equal(socket.sentOfType("unsubscribe").length, 0, "nothing to undo yet");
    socket.receive(subscribed(A));
    assert.deepEqual(socket.sentOfType("unsubscribe"), [{ type: "unsubscribe", guildId: A }]);
  });

  test("events go to the listeners of their guild and event, and to the guild's wildcard listeners", async () => {
    const { client, live } = setup();
    client.joinGuild(A);
    client.joinGuild(B);
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A));
    socket.receive(subscribed(B));
    const got = [];
    client.on(A, "moderation:rule_created", (data) => got.push(["A rule", data.rule.name]));
    client.on(A, "*", (e) => got.push(["A *", e.event]));
    const off = client.on(B, "moderation:rule_created", (data) => got.push(["B rule", data.rule.name]));

    socket.receive(envelope(A, "moderation:rule_created", { rule: { name: "x" } }, 1));
    socket.receive(envelope(B, "moderation:rule_created", { rule: { name: "y" } }, 1));
    socket.receive(envelope(A, "tags:tag_deleted", { tagId: "1" }, 2));
    off();
    socket.receive(envelope(B, "moderation:rule_created", { rule: { name: "z" } }, 2));

    assert.deepEqual(got, [
      ["A rule", "x"],
      ["A *", "moderation:rule_created"],
      ["B rule", "y"],
      ["A *", "tags:tag_deleted"],
    ]);
  });

  test("a throwing listener does not stop the others, and its error is reported", async () => {
    const reported = [];
    const { client, live } = setup({ reportError: (err) => reported.push(err.message) });
    client.joinGuild(A);
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A));
    const got = [];
    client.on(A, "tags:tag_created", () => {
      throw new Error("widget bug");
    });
    client.on(A, "tags:tag_created", () => got.push("second"));
    socket.receive(envelope(A, "tags:tag_created", {}, 1));
    assert.deepEqual(got, ["second"]);
    assert.deepEqual(reported, ["widget bug"]);
  });

  test("events of a guild that was left are not delivered", async () => {
    const { client, live } = setup();
    const leave = client.joinGuild(A);
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A));
    const got = [];
    client.on(A, "*", (e) => got.push(e.event));
    leave();
    socket.receive(envelope(A, "tags:tag_created", {}, 1)); // sent before the server saw the unsubscribe
    assert.deepEqual(got, []);
  });

  test("a guild the server refuses is reported and not retried until joined afresh", async () => {
    const { client, clock, sockets, live } = setup();
    const errors = [];
    client.onError((e) => errors.push([e.code, e.guildId]));
    const leave = client.joinGuild(B);
    client.connect();
    let socket = await live();
    socket.receive({ event: "error", guildId: B, data: { code: "FORBIDDEN", message: "No access" } });
    assert.deepEqual(errors, [["FORBIDDEN", B]]);

    socket.serverClose();
    await clock.advance(clock.delays()[0]);
    socket = await live();
    assert.equal(socket.sentOfType("subscribe").length, 0, "not retried after a reconnect");

    leave();
    client.joinGuild(B);
    assert.equal(socket.sentOfType("subscribe").length, 1, "a fresh join tries again");
    assert.equal(sockets.length, 2);
  });

  test("access revoked while subscribed (FORBIDDEN with the guild) ends the subscription until joined afresh", async () => {
    const { client, clock, live } = setup();
    const errors = [];
    client.onError((e) => errors.push([e.code, e.guildId]));
    client.joinGuild(A);
    client.connect();
    let socket = await live();
    socket.receive(subscribed(A, { seq: 4 }));
    assert.equal(client.isSubscribed(A), true);
    socket.receive({ event: "error", guildId: A, data: { code: "FORBIDDEN", message: "No access to this guild" } });
    assert.deepEqual(errors, [["FORBIDDEN", A]]);
    assert.equal(client.isSubscribed(A), false);

    socket.serverClose();
    await clock.advance(clock.delays()[0]);
    socket = await live();
    assert.equal(socket.sentOfType("subscribe").length, 0, "not re-subscribed after a reconnect");
  });

  test("subscribe and unsubscribe messages stay under the server's rate limit", async () => {
    const { client, clock, live } = setup({ subscribeRate: { max: 4, perMs: 1000 } });
    const guilds = Array.from({ length: 10 }, (_, i) => String(100 + i));
    for (const g of guilds) client.joinGuild(g);
    client.connect();
    const socket = await live();
    assert.equal(socket.sentOfType("subscribe").length, 4);
    await clock.advance(999);
    assert.equal(socket.sentOfType("subscribe").length, 4);
    await clock.advance(1);
    assert.equal(socket.sentOfType("subscribe").length, 8);
    await clock.advance(1000);
    assert.deepEqual(socket.sentOfType("subscribe").map((m) => m.guildId), guilds);
  });

  test("rejects a guild id that is not a snowflake", () => {
    const { client } = setup();
    assert.throws(() => client.joinGuild("guild:1"), /snowflake/);
    assert.throws(() => client.on(12, "*", () => {}), /snowflake/);
  });
});

describe("recovery", () => {
  async function liveWithGuild(setupResult) {
    const { client, live } = setupResult;
    client.joinGuild(A);
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A, { seq: 10, epoch: "e1" }));
    socket.receive(envelope(A, "tags:tag_created", { tag: { id: "1" } }, 11));
    socket.receive(envelope(A, "tags:tag_created", { tag: { id: "2" } }, 12));
    return socket;
  }

  test("after a reconnect every joined guild is re-subscribed with its lastSeq and epoch", async () => {
    const s = setup();
    s.client.joinGuild(B);
    const socket = await liveWithGuild(s);
    socket.receive(subscribed(B, { seq: 0, epoch: "e1" }));
    socket.serverClose(1013, "SLOW_CONSUMER");
    await s.clock.advance(s.clock.delays()[0]);
    const next = await s.live();
    assert.deepEqual(next.sentOfType("subscribe"), [
      { type: "subscribe", guildId: B, lastSeq: 0, epoch: "e1" },
      { type: "subscribe", guildId: A, lastSeq: 12, epoch: "e1" },
    ]);
  });

  test("recovered: true replays the missed events in order and asks nobody to refetch", async () => {
    const s = setup();
    const socket = await liveWithGuild(s);
    const syncs = [];
    const ids = [];
    s.client.onSync(A, (e) => syncs.push(e));
    s.client.on(A, "tags:tag_created", (d) => ids.push(d.tag.id));
    socket.serverClose();
    await s.clock.advance(s.clock.delays()[0]);
    const next = await s.live();
    next.receive(subscribed(A, { seq: 14, epoch: "e1", recovered: true }));
    next.receive(envelope(A, "tags:tag_created", { tag: { id: "3" } }, 13));
    next.receive(envelope(A, "tags:tag_created", { tag: { id: "4" } }, 14));
    next.receive(envelope(A, "tags:tag_created", { tag: { id: "4" } }, 14)); // a duplicate is ignored
    assert.deepEqual(syncs, []);
    assert.deepEqual(ids, ["3", "4"]);
    assert.equal(s.client.isSubscribed(A), true);
  });

  test("recovered: false (a restarted server, a new epoch) tells the guild's listeners to refetch", async () => {
    const s = setup();
    const socket = await liveWithGuild(s);
    const syncs = [];
    s.client.onSync(A, (e) => syncs.push(e));
    socket.serverClose();
    await s.clock.advance(s.clock.delays()[0]);
    const next = await s.live();
    next.receive(subscribed(A, { seq: 0, epoch: "e2", recovered: false }));
    assert.deepEqual(syncs, [{ guildId: A, recovered: false, resubscribed: true }]);

    // The new stream continues from the new epoch: its seq 1 is not taken for a duplicate of the old seq 1.
    const ids = [];
    s.client.on(A, "tags:tag_created", (d) => ids.push(d.tag.id));
    next.receive(envelope(A, "tags:tag_created", { tag: { id: "new" } }, 1, "e2"));
    assert.deepEqual(ids, ["new"]);
    next.serverClose();
    await s.clock.advance(s.clock.delays()[0]);
    const third = await s.live();
    assert.deepEqual(third.sentOfType("subscribe"), [{ type: "subscribe", guildId: A, lastSeq: 1, epoch: "e2" }]);
  });
});

describe("realtimeData", () => {
  function api(initial) {
    const calls = [];
    const pending = [];
    let data = initial;
    return {
      calls,
      set(value) {
        data = value;
      },
      /** fetchData that answers at once with the current data. */
      immediate: async (guildId, path) => {
        calls.push([guildId, path]);
        return structuredClone(data);
      },
      /** fetchData whose answers the test releases one by one (each with the data as it was asked). */
      manual: (guildId, path) => {
        calls.push([guildId, path]);
        const snapshot = structuredClone(data);
        return new Promise((resolve) => pending.push(() => resolve(snapshot)));
      },
      async release() {
        pending.shift()();
        await flush();
      },
      get waiting() {
        return pending.length;
      },
    };
  }

  const patchRules = (event, data, current) => {
    if (event === "moderation:rule_created") return [...current, data.rule];
    if (event === "moderation:rule_deleted") return current.filter((r) => r.id !== data.ruleId);
    return "refetch";
  };

  test("fetches on start, then patches through onEvent, and refetches when onEvent says so", async () => {
    const s = setup();
    const server = api([{ id: "1" }]);
    s.client.connect();
    const socket = await s.live();
    const changes = [];
    const rules = s.client.realtimeData({
      guildId: A,
      path: "moderation/rules",
      events: ["moderation:rule_created", "moderation:rule_deleted", "moderation:rule_updated"],
      onEvent: patchRules,
      fetchData: server.immediate,
      onChange: (st) => changes.push(st),
    });
    socket.receive(subscribed(A));
    await flush();
    assert.deepEqual(server.calls, [[A, "moderation/rules"], [A, "moderation/rules"]], "refetched once: the first fetch began before the subscription");
    assert.deepEqual(rules.data, [{ id: "1" }]);

    socket.receive(envelope(A, "moderation:rule_created", { rule: { id: "2" } }, 1));
    socket.receive(envelope(A, "moderation:rule_deleted", { ruleId: "1" }, 2));
    assert.deepEqual(rules.data, [{ id: "2" }]);
    assert.equal(server.calls.length, 2, "patched without fetching");

    server.set([{ id: "2", enabled: false }]);
    socket.receive(envelope(A, "moderation:rule_updated", { rule: { id: "2" } }, 3));
    await flush();
    assert.deepEqual(rules.data, [{ id: "2", enabled: false }]);
    assert.equal(server.calls.length, 3);
    assert.deepEqual(changes.at(-1), { data: [{ id: "2", enabled: false }], loading: false, error: null });
  });

  test("without onEvent every listed event refetches; other events do not", async () => {
    const s = setup();
    const server = api({ automod: true });
    s.client.joinGuild(A);
    s.client.connect();
    const socket = await s.live();
    socket.receive(subscribed(A));
    const config = s.client.realtimeData({ guildId: A, path: "moderation/config", events: ["moderation:config_updated"], fetchData: server.immediate });
    await flush();
    assert.equal(server.calls.length, 1, "the guild was already subscribed: one fetch covers it");
    server.set({ automod: false });
    socket.receive(envelope(A, "moderation:config_updated", {}, 1));
    socket.receive(envelope(A, "tags:tag_created", {}, 2));
    await flush();
    assert.deepEqual(config.data, { automod: false });
    assert.equal(server.calls.length, 2);
  });

  test("refetches after a reconnect whose recovery failed, not after one that recovered", async () => {
    const s = setup();
    const server = api([]);
    s.client.joinGuild(A);
    s.client.connect();
    let socket = await s.live();
    socket.receive(subscribed(A, { seq: 5 }));
    const feed = s.client.realtimeData({ guildId: A, path: "moderation/infractions", events: [], fetchData: server.immediate });
    await flush();
    assert.equal(server.calls.length, 1);

    socket.serverClose();
    await s.clock.advance(s.clock.delays()[0]);
    socket = await s.live();
    socket.receive(subscribed(A, { seq: 5, recovered: true }));
    await flush();
    assert.equal(server.calls.length, 1, "recovered: nothing to refetch");

    socket.serverClose();
    await s.clock.advance(s.clock.delays()[0]);
    socket = await s.live();
    server.set([{ id: "made while disconnected" }]);
    socket.receive(subscribed(A, { seq: 0, epoch: "e2", recovered: false }));
    await flush();
    assert.equal(server.calls.length, 2);
    assert.deepEqual(feed.data, [{ id: "made while disconnected" }]);
  });

  test("an event during a fetch makes it fetch again, so an older response cannot hide the change", async () => {
    const s = setup();
    const server = api(["old"]);
    s.client.joinGuild(A);
    s.client.connect();
    const socket = await s.live();
    socket.receive(subscribed(A));
    const list = s.client.realtimeData({ guildId: A, path: "tags", events: ["tags:tag_created"], fetchData: server.manual });
    await flush();
    assert.equal(server.waiting, 1);
    server.set(["old", "new"]); // written after the first fetch read the data…
    socket.receive(envelope(A, "tags:tag_created", {}, 1)); // …and its event arrives before that response
    socket.receive(envelope(A, "tags:tag_created", {}, 2));
    await server.release();
    assert.deepEqual(list.data, ["old"]);
    assert.equal(server.waiting, 1, "exactly one more fetch for any number of events meanwhile");
    await server.release();
    assert.deepEqual(list.data, ["old", "new"]);
    assert.equal(list.loading, false);
    assert.equal(list.fetchCount, 2);
  });

  test("a failed fetch reports its error and the next event retries", async () => {
    const s = setup();
    let fail = true;
    s.client.joinGuild(A);
    s.client.connect();
    const socket = await s.live();
    socket.receive(subscribed(A));
    const thrown = new Error("HTTP 502");
    const cfg = s.client.realtimeData({
      guildId: A,
      path: "moderation/config",
      events: ["moderation:config_updated"],
      fetchData: async () => {
        if (fail) throw thrown;
        return { ok: 1 };
      },
    });
    await flush();
    // An Error (for error boundaries and `cause` chains), not a string: which guild and path, the original as cause.
    assert.ok(cfg.error instanceof RealtimeDataError, `error is ${typeof cfg.error}: ${String(cfg.error)}`);
    assert.ok(cfg.error instanceof Error);
    assert.equal(cfg.error.name, "RealtimeDataError");
    assert.equal(cfg.error.message, "HTTP 502");
    assert.equal(cfg.error.guildId, A);
    assert.equal(cfg.error.path, "moderation/config");
    assert.equal(cfg.error.cause, thrown);
    assert.equal(cfg.error.status, undefined, "a custom fetchData's error carries no HTTP status");
    assert.equal(String(cfg.error), "RealtimeDataError: HTTP 502");
    fail = false;
    socket.receive(envelope(A, "moderation:config_updated", {}, 1));
    await flush();
    assert.deepEqual(cfg.data, { ok: 1 });
    assert.equal(cfg.error, null);
  });

  test("stop() leaves the guild and ignores later events", async () => {
    const s = setup();
    const server = api([]);
    s.client.connect();
    const socket = await s.live();
    const a = s.client.realtimeData({ guildId: A, path: "tags", events: ["tags:tag_created"], fetchData: server.immediate });
    const b = s.client.realtimeData({ guildId: A, path: "tags", events: ["tags:tag_created"], fetchData: server.immediate });
    socket.receive(subscribed(A));
    await flush();
    a.stop();
    assert.equal(s.client.joinCount(A), 1);
    assert.equal(socket.sentOfType("unsubscribe").length, 0, "the other widget still needs the guild");
    const before = server.calls.length;
    socket.receive(envelope(A, "tags:tag_created", {}, 1));
    await flush();
    assert.equal(server.calls.length, before + 1, "only the remaining widget refetched");
    b.stop();
    assert.equal(socket.sentOfType("unsubscribe").length, 1);
  });

  test("the default fetchData reads { success, data } from /api/guilds/{guildId}/{path}", async () => {
    const requests = [];
    const s = setup({
      fetchData: undefined,
      apiBase: "http://api.test",
      fetch: async (url) => {
        requests.push(url);
        return url.endsWith("/broken")
          ? { ok: false, status: 404, json: async () => ({ success: false, error: { message: "Rule not found." } }) }
          : { ok: true, status: 200, json: async () => ({ success: true, data: [1, 2] }) };
      },
    });
    const ok = s.client.realtimeData({ guildId: A, path: "moderation/rules", events: [] });
    const broken = s.client.realtimeData({ guildId: A, path: "broken", events: [] });
    await flush();
    assert.deepEqual(requests, [`http://api.test/api/guilds/${A}/moderation/rules`, `http://api.test/api/guilds/${A}/broken`]);
    assert.deepEqual(ok.data, [1, 2]);
    assert.ok(broken.error instanceof RealtimeDataError);
    assert.equal(broken.error.message, "Rule not found.");
    assert.equal(broken.error.status, 404);
    assert.equal(broken.error.guildId, A);
    assert.equal(broken.error.path, "broken");
    assert.equal(ok.error, null);
  });
});
