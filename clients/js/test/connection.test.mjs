// The connection's newer duties, with the fake WebSocket and clock: the batch capability, the server's `refetch`,
// backoff on refused tokens (no re-auth loop), the connect timeout, resuming on "online"/visibility, ready().
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LiveUpdatesClient, Status, SubscriptionError } from "../dist/index.js";
import { renewDelay } from "../dist/connection.js";
import { createLiveTokenRoute } from "../dist/next/index.js";
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
    resume: false,
    fetchData: async () => {
      throw new Error("no fetchData in this test");
    },
    ...options,
  });
  const last = () => sockets[sockets.length - 1];
  async function live({ batch } = {}) {
    const socket = last();
    socket.open();
    await flush();
    socket.receive({ event: "connected", data: { message: "hi", authTimeoutMs: 10000, idleTimeoutMs: 60000, pingIntervalMs: 20000 } });
    const data = { userId: "1", guilds: [A, B] };
    if (batch !== undefined) data.batch = batch;
    socket.receive({ event: "authenticated", data });
    await flush();
    return socket;
  }
  return { client, clock, sockets, last, live, tokenCount: () => tokens };
}

describe("batch capability", () => {
  test("auth declares batch: true; batch: false leaves it out", async () => {
    const a = setup();
    a.client.connect();
    a.last().open();
    await flush();
    assert.deepEqual(a.last().sent[0], { type: "auth", token: "token-1", batch: true });
    const b = setup({ batch: false });
    b.client.connect();
    b.last().open();
    await flush();
    assert.deepEqual(b.last().sent[0], { type: "auth", token: "token-1" });
  });

  test("a packed frame (messages joined by \\n) is read message by message, in order", async () => {
    const { client, live } = setup();
    const seen = [];
    client.joinGuild(A);
    client.on(A, "*", ({ event }, env) => seen.push([event, env.seq]));
    client.connect();
    const socket = await live({ batch: true });
    assert.equal(client.batch, true);
    socket.receive(subscribed(A, { seq: 0 }));
    socket.receiveFrame(
      [envelope(A, "tags:tag_created", {}, 1), envelope(A, "tags:tag_updated", {}, 2), envelope(A, "tags:tag_deleted", {}, 3)].map((m) => JSON.stringify(m)).join("\n"),
    );
    assert.deepEqual(seen, [["tags:tag_created", 1], ["tags:tag_updated", 2], ["tags:tag_deleted", 3]]);
    assert.equal(client.subscription(A).lastSeq, 3);
  });

  test("a server that does not confirm batch sends one message per frame, which may contain newlines", async () => {
    const { client, live } = setup();
    const seen = [];
    client.joinGuild(A);
    client.on(A, "tags:tag_created", (data) => seen.push(data.name));
    client.connect();
    const socket = await live(); // no batch field: an older server
    assert.equal(client.batch, false);
    socket.receive(subscribed(A, { seq: 0 }));
    socket.receiveFrame(JSON.stringify(envelope(A, "tags:tag_created", { name: "indented" }, 1), null, 2));
    socket.receive(envelope(A, "tags:tag_created", { name: "plain" }, 2));
    assert.deepEqual(seen, ["indented", "plain"]);
  });
});

describe("refetch from the server", () => {
  test("sets the guild's position and tells its sync listeners to refetch, as recovered: false", async () => {
    const { client, live, sockets, clock } = setup();
    const syncs = [];
    client.joinGuild(A);
    client.onSync(A, (info) => syncs.push(info));
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A, { seq: 5, epoch: "e1" }));
    syncs.length = 0;
    socket.receive({ type: "refetch", guildId: A, data: { guildId: A, epoch: "e2", seq: 9 } });
    assert.deepEqual(syncs, [{ guildId: A, recovered: false, resubscribed: true }]);
    const sub = client.subscription(A);
    assert.equal(sub.lastSeq, 9);
    assert.equal(sub.epoch, "e2");
    // an event at or before the new position is not delivered again; the next reconnect recovers from there
    const seen = [];
    client.on(A, "*", (_e, env) => seen.push(env.seq));
    socket.receive(envelope(A, "tags:tag_created", {}, 9, "e2"));
    socket.receive(envelope(A, "tags:tag_created", {}, 10, "e2"));
    assert.deepEqual(seen, [10]);
    socket.serverClose();
    await clock.advance(clock.delays()[0]);
    await live();
    assert.deepEqual(sockets[1].sentOfType("subscribe")[0], { type: "subscribe", guildId: A, lastSeq: 10, epoch: "e2" });
  });

  test("in the server's envelope form too ({ event: \"refetch\", … }, as main's server writes it), never as a plugin event", async () => {
    const { client, live } = setup();
    const syncs = [];
    const events = [];
    client.joinGuild(A);
    client.onSync(A, (info) => syncs.push(info.recovered));
    client.on(A, "*", ({ event }) => events.push(event));
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A, { seq: 5, epoch: "e1" }));
    socket.receive({ event: "refetch", guildId: A, data: { guildId: A, epoch: "e1", seq: 8 } });
    assert.deepEqual(syncs, [undefined, false]);
    assert.deepEqual(events, []);
    assert.equal(client.subscription(A).lastSeq, 8);
  });

  test("realtimeData refetches on it", async () => {
    let fetches = 0;
    const { client, live } = setup({ fetchData: async () => ++fetches });
    const view = client.realtimeData({ guildId: A, path: "tags", events: [] });
    client.connect();
    const socket = await live();
    socket.receive(subscribed(A, { seq: 1 }));
    await flush();
    const before = view.fetchCount;
    socket.receive({ type: "refetch", guildId: A, data: { guildId: A, epoch: "e1", seq: 4 } });
    await flush();
    assert.equal(view.fetchCount, before + 1);
    view.stop();
  });

  test("is ignored for a guild that is not subscribed", async () => {
    const { client, live } = setup();
    const syncs = [];
    client.onSync(B, (info) => syncs.push(info));
    client.connect();
    const socket = await live();
    socket.receive({ type: "refetch", guildId: B, data: { guildId: B, epoch: "e1", seq: 4 } });
    assert.deepEqual(syncs, []);
  });
});

describe("refused tokens back off", () => {
  for (const code of ["TOKEN_INVALID", "TOO_MANY_AUTH_ATTEMPTS"]) {
    test(`${code}: each retry gets a fresh token and waits longer (never at network speed)`, async () => {
      const { client, clock, sockets, tokenCount } = setup();
      client.connect();
      const waits = [];
      for (let i = 0; i < 5; i++) {
        const socket = sockets[sockets.length - 1];
        socket.open();
        await flush();
        socket.receive({ event: "error", data: { code, message: "no" } });
        if (code === "TOO_MANY_AUTH_ATTEMPTS") socket.serverClose(1008, code);
        assert.equal(client.status, Status.Reconnecting);
        const wait = Math.min(...clock.delays());
        waits.push(wait);
        await clock.advance(wait);
      }
      assert.equal(tokenCount(), 5);
      assert.equal(sockets.length, 6);
      for (let i = 1; i < waits.length; i++) assert.ok(waits[i] > waits[i - 1], `waits grow: ${waits}`);
      assert.ok(waits[0] >= 500, `first retry waits: ${waits}`);
    });
  }

  test("TOKEN_EXPIRED answered again and again: re-auths on the same socket with growing delays, then a good token resets them", async () => {
    const { client, clock, live, tokenCount } = setup();
    client.connect();
    const socket = await live();
    const waits = [];
    for (let i = 0; i < 4; i++) {
      socket.receive({ event: "error", data: { code: "TOKEN_EXPIRED", message: "expired" } });
      await flush();
      const auths = socket.sentOfType("auth").length;
      const wait = Math.min(...clock.delays());
      waits.push(wait);
      await clock.advance(wait - 1);
      assert.equal(socket.sentOfType("auth").length, auths, "nothing before the delay");
      await clock.advance(1);
      assert.equal(socket.sentOfType("auth").length, auths + 1);
    }
    for (let i = 1; i < waits.length; i++) assert.ok(waits[i] > waits[i - 1], `waits grow: ${waits}`);
    assert.equal(tokenCount(), 5);
    socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A] } });
    assert.equal(client.status, Status.Live);
    socket.receive({ event: "error", data: { code: "TOKEN_EXPIRED", message: "expired" } });
    await flush();
    assert.equal(Math.min(...clock.delays()), waits[0], "reset after a successful auth");
  });
});

describe("renewing before the token expires", () => {
  // The token source is the real token route of @liveupdates/client/next, minting 2-second connection tokens.
  const KEY = "connection-token-key-0123456789-abcdefghijklmnop";
  function tokenRoute(clock) {
    const { GET } = createLiveTokenRoute({
      connectionTokenKey: KEY,
      lifetimeSeconds: 2,
      now: () => clock.now() / 1000,
      session: async () => ({ userId: "100", guilds: [A] }),
      getToken: async () => null,
    });
    let calls = 0;
    const token = async () => {
      calls += 1;
      const res = await GET(new Request("http://app/api/live-token"));
      if (!res.ok) throw new Error(`token route: ${res.status}`);
      return (await res.json()).token;
    };
    return { token, calls: () => calls };
  }
  const exp = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url")).exp;
  // The client's fetch work (WebCrypto signs on libuv's thread pool, Response bodies) completes in real time, not in a
  // fixed number of event-loop turns: wait for it up to 5 s of wall-clock time (the fake clock is the client's only).
  async function until(condition, what) {
    const deadline = Date.now() + 5000;
    while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    assert.ok(condition(), what);
  }

  test("a token from the token route that expires in 2 s is renewed in-band at 1.5 s: a fresh token from the route, same socket, subscriptions kept", async () => {
    const clock = new FakeClock();
    clock.time = 1_000_000_000;
    const route = tokenRoute(clock);
    const { client, sockets, last } = setup({ token: route.token, timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }, now: clock.now });
    client.joinGuild(A);
    client.connect();
    const socket = last();
    socket.open();
    await until(() => socket.sentOfType("auth").length === 1, "the first auth");
    const first = socket.sentOfType("auth")[0].token;
    assert.equal(exp(first), 1_000_002);
    socket.receive({ event: "authenticated", data: { userId: "100", guilds: [A], expiresInMs: 2000 } });
    await flush();
    socket.receive(subscribed(A, { seq: 0 }));
    assert.equal(client.guildState(A), "subscribed");

    await clock.advance(1499);
    assert.equal(route.calls(), 1, "no renewal before three quarters of the lifetime");
    await clock.advance(1);
    await until(() => socket.sentOfType("auth").length === 2, "a second auth on the same socket");
    const renewed = socket.sentOfType("auth")[1];
    assert.equal(route.calls(), 2, "the token route was asked again");
    assert.notEqual(renewed.token, first);
    assert.equal(exp(renewed.token), 1_000_003, "minted at 1.5 s for 2 s more");
    assert.equal(sockets.length, 1, "no new socket");
    assert.equal(socket.sentOfType("subscribe").length, 1, "nothing re-subscribed");

    // The server confirms: the next renewal is scheduled from its new expiresInMs, again and again.
    socket.receive({ event: "authenticated", data: { userId: "100", guilds: [A], expiresInMs: 2000 } });
    await flush();
    assert.equal(client.status, Status.Live);
    assert.equal(client.guildState(A), "subscribed");
    await clock.advance(1500);
    await until(() => socket.sentOfType("auth").length === 3, "a third auth");
    assert.equal(sockets.length, 1);
  });

  test("a failing token route while renewing is asked again after a delay, and the socket is kept", async () => {
    const clock = new FakeClock();
    let fail = true;
    let calls = 0;
    const token = async () => {
      calls += 1;
      if (calls > 1 && fail) throw new Error("token route down");
      return `token-${calls}`;
    };
    const { client, sockets, last } = setup({ token, timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }, now: clock.now });
    client.connect();
    const socket = last();
    socket.open();
    await flush();
    socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A], expiresInMs: 300000 } });
    await clock.advance(240000);
    assert.equal(calls, 2);
    assert.equal(socket.sentOfType("auth").length, 1, "no auth without a token");
    assert.equal(socket.closedWith, null, "the socket is kept: the session is still valid");
    fail = false;
    await clock.advance(Math.min(...clock.delays()));
    assert.equal(socket.sentOfType("auth").length, 2);
    assert.equal(socket.sentOfType("auth")[1].token, "token-3");
    assert.equal(sockets.length, 1);
  });

  test("no expiresInMs (an older server) or a fixed token: no renewal timer", async () => {
    const clock = new FakeClock();
    const a = setup({ timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }, now: clock.now });
    a.client.connect();
    await a.live();
    assert.deepEqual(clock.delays(), [20000], "only the ping timer");
    const b = setup({ token: "fixed" });
    b.client.connect();
    const socket = b.last();
    socket.open();
    await flush();
    socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A], expiresInMs: 1000 } });
    assert.deepEqual(b.clock.delays(), [], "nothing to renew with");
  });

  test("renewDelay: a quarter early, at most a minute early", () => {
    assert.equal(renewDelay(2000), 1500);
    assert.equal(renewDelay(300000), 240000);
    assert.equal(renewDelay(3600000), 3540000);
    assert.equal(renewDelay(0), 0);
  });
});

describe("connect timeout and resuming", () => {
  test("a socket that opens but is never authenticated is abandoned after connectTimeoutMs", async () => {
    const { client, clock, sockets } = setup({ connectTimeoutMs: 3000, token: () => new Promise(() => {}) });
    client.connect();
    sockets[0].open();
    await clock.advance(2999);
    assert.equal(sockets[0].closedWith, null);
    await clock.advance(1);
    assert.ok(sockets[0].closedWith, "abandoned");
    assert.equal(client.status, Status.Reconnecting);
    await clock.advance(Math.min(...clock.delays()));
    assert.equal(sockets.length, 2);
  });

  test("'online' or the tab becoming visible reconnects at once instead of waiting out the backoff", async () => {
    const target = new EventTarget();
    let visible = false;
    const { client, clock, sockets, live } = setup({ resume: { target, visible: () => visible } });
    client.connect();
    await live();
    for (let i = 0; i < 4; i++) {
      sockets[sockets.length - 1].serverClose();
      await clock.advance(Math.min(...clock.delays()));
    } // several failed attempts: the next wait is long
    sockets[sockets.length - 1].serverClose();
    const count = sockets.length;
    target.dispatchEvent(new Event("visibilitychange")); // still hidden: nothing
    assert.equal(sockets.length, count);
    visible = true;
    target.dispatchEvent(new Event("visibilitychange"));
    assert.equal(sockets.length, count + 1);
    sockets[sockets.length - 1].serverClose();
    target.dispatchEvent(new Event("online"));
    assert.equal(sockets.length, count + 2);
    client.close();
    target.dispatchEvent(new Event("online"));
    assert.equal(sockets.length, count + 2, "not after close()");
  });
});

describe("GuildSubscription", () => {
  test("ready() resolves once subscribed, exposes state and position, and rejects when refused", async () => {
    const { client, live } = setup();
    client.joinGuild(A);
    client.joinGuild(B);
    const sub = client.subscription(A);
    assert.equal(sub.state, "unsubscribed");
    let ready = false;
    const readyA = sub.ready().then(() => (ready = true));
    const readyB = client.subscription(B).ready();
    client.connect();
    const socket = await live();
    assert.equal(sub.state, "subscribing");
    assert.equal(ready, false);
    socket.receive(subscribed(A, { seq: 7, epoch: "e3" }));
    await readyA;
    assert.equal(sub.state, "subscribed");
    assert.equal(sub.refs, 1);
    assert.equal(sub.lastSeq, 7);
    assert.equal(sub.epoch, "e3");
    socket.receive({ event: "error", guildId: B, data: { code: "FORBIDDEN", message: "no" } });
    await assert.rejects(readyB, (e) => e instanceof SubscriptionError && e.code === "FORBIDDEN" && e.guildId === B);
    assert.equal(client.subscription(B).refused, "FORBIDDEN");
  });

  test("ready() rejects with LEFT when every join is undone first", async () => {
    const { client } = setup();
    const leave = client.joinGuild(A);
    const ready = client.subscription(A).ready();
    leave();
    await assert.rejects(ready, (e) => e.code === "LEFT");
  });
});

describe("REST shape", () => {
  test("api.base, api.url and api.unwrap replace the default /api/guilds/{id}/… and { success, data }", async () => {
    const calls = [];
    const fetch = async (url, init) => {
      calls.push([url, init.headers.Authorization]);
      return { ok: true, status: 200, json: async () => ({ items: [1, 2] }) };
    };
    const { client } = setup({
      fetchData: undefined,
      fetch,
      api: { base: "https://bot.example", url: (g, p, base) => `${base}/v2/${g}/${p}`, unwrap: (body) => body.items, init: { headers: { Authorization: "Bearer x" } } },
    });
    let state;
    const view = client.realtimeData({ guildId: A, path: "tags", events: [], onChange: (s) => (state = s) });
    await flush();
    assert.deepEqual(calls, [[`https://bot.example/v2/${A}/tags`, "Bearer x"]]);
    assert.deepEqual(state.data, [1, 2]);
    view.stop();
  });
});

describe("a session that ends under in-flight subscribes", () => {
  test("AUTH_REQUIRED answers (with the guild) cause one re-auth, and the guilds are subscribed again, not refused", async () => {
    const { client, clock, live } = setup();
    client.joinGuild(A);
    client.joinGuild(B);
    client.connect();
    const socket = await live(); // both subscribes sent
    socket.receive({ event: "error", data: { code: "TOKEN_EXPIRED", message: "expired" } });
    socket.receive({ event: "error", guildId: A, data: { code: "AUTH_REQUIRED", message: "auth first" } });
    socket.receive({ event: "error", guildId: B, data: { code: "AUTH_REQUIRED", message: "auth first" } });
    await flush();
    assert.equal(clock.delays().filter((d) => d > 0 && d < 2000).length >= 1, true);
    await clock.advance(Math.min(...clock.delays()));
    assert.equal(socket.sentOfType("auth").length, 2, "one re-auth for the three errors");
    assert.equal(client.subscription(A).refused, null);
    socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A, B] } });
    assert.deepEqual(socket.sentOfType("subscribe").slice(2).map((m) => m.guildId).sort(), [A, B].sort());
  });
});

describe("a user the host disconnected", () => {
  test("close 4001 USER_DISCONNECTED is final: status closed, no reconnect, no new token; connect() starts again", async () => {
    const { client, clock, sockets, live, tokenCount } = setup();
    client.connect();
    const socket = await live();
    socket.serverClose(4001, "USER_DISCONNECTED");
    await flush();
    assert.equal(client.status, Status.Closed);
    assert.deepEqual(clock.delays(), [], "no reconnect scheduled");
    await clock.advance(10 * 60 * 1000);
    assert.equal(sockets.length, 1, "no new socket");
    assert.equal(tokenCount(), 1, "no new token asked for");

    client.connect();
    assert.equal(sockets.length, 2, "an explicit connect() opens again");
  });

  test("TOO_MANY_CONNECTIONS backs off like a refused token", async () => {
    const { client, clock, sockets } = setup();
    client.connect();
    const waits = [];
    for (let i = 0; i < 3; i++) {
      const socket = sockets[sockets.length - 1];
      socket.open();
      await flush();
      socket.receive({ event: "error", data: { code: "TOO_MANY_CONNECTIONS", message: "no" } });
      socket.serverClose(1008, "TOO_MANY_CONNECTIONS");
      const wait = Math.min(...clock.delays());
      waits.push(wait);
      await clock.advance(wait);
    }
    for (let i = 1; i < waits.length; i++) assert.ok(waits[i] > waits[i - 1], `waits grow: ${waits}`);
  });
});
