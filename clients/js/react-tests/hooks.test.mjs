// @liveupdates/client/react with React 19 in jsdom: Strict Mode's double effects, fast guild switches (no leaked
// subscription, no stale listener, no previous guild's data), and the hooks' behaviour. Fake WebSocket and clock.
import { describe, test, expect, afterEach } from "vitest";
import { createElement as h, StrictMode, useState } from "react";
import { render, screen, act, cleanup } from "@testing-library/react";
import { LiveUpdatesClient } from "../dist/index.js";
import { LiveUpdatesProvider, LiveGuild, ConnectionIndicator, useRealtimeData, useRealtimeEvent, useLiveUpdates } from "../dist/react/index.js";
import { FakeClock, fakeWebSocketClass, flush, envelope, subscribed } from "../testing/fakes.mjs";

const A = "123456789012345678";
const B = "876543210987654321";

afterEach(() => cleanup());

function setup({ fetchData } = {}) {
  const clock = new FakeClock();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const client = new LiveUpdatesClient({
    url: "ws://test:3002",
    token: async () => "token",
    WebSocket: FakeWebSocket,
    timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout },
    now: clock.now,
    random: () => 0.5,
    resume: false,
    fetchData: fetchData ?? (async (guildId, path) => ({ guildId, path })),
  });
  async function live() {
    const socket = sockets[sockets.length - 1];
    await act(async () => {
      socket.open();
      await flush();
      socket.receive({ event: "connected", data: { pingIntervalMs: 20000 } });
      socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A, B] } });
      await flush();
    });
    return socket;
  }
  const app = (children) => h(StrictMode, null, h(LiveUpdatesProvider, { client }, children));
  return { client, clock, sockets, live, app };
}

const tick = () => act(async () => {
  await new Promise((r) => setTimeout(r, 5));
  await flush();
});

describe("LiveUpdatesProvider under Strict Mode", () => {
  test("one connection for the double mount, the indicator follows it, and unmounting closes it", async () => {
    const { sockets, live, app, client } = setup();
    const view = render(app(h(ConnectionIndicator)));
    await tick();
    expect(sockets.length).toBe(1);
    expect(screen.getByRole("status").textContent).toBe("Connecting…");
    const socket = await live();
    expect(socket.sent[0]).toEqual({ type: "auth", token: "token", batch: true });
    expect(screen.getByRole("status").textContent).toBe("Live");
    expect(screen.getByRole("status").dataset.status).toBe("live");
    await act(async () => socket.serverClose());
    expect(screen.getByRole("status").textContent).toBe("Reconnecting…");
    view.unmount();
    await tick();
    expect(client.status).toBe("closed");
  });

  test("creates its own client from props, with the latest getToken", async () => {
    const { FakeWebSocket, sockets } = fakeWebSocketClass();
    let which = "first";
    function App() {
      const [, force] = useState(0);
      return h(StrictMode, null, h(LiveUpdatesProvider, { url: "ws://own:1", getToken: () => which, WebSocket: FakeWebSocket, resume: false }, h("button", { onClick: () => force(1) }, "x")));
    }
    render(h(App));
    await tick();
    expect(sockets.length).toBe(1);
    expect(sockets[0].url).toBe("ws://own:1");
    which = "second";
    await act(async () => {
      sockets[0].open();
      await flush();
    });
    expect(sockets[0].sent[0].token).toBe("second");
  });
});

function Rules({ onRender }) {
  const { data, loading } = useRealtimeData({
    path: "moderation/rules",
    events: ["moderation:rule_created"],
    onEvent: (_event, d, current) => ({ ...current, rules: [...(current.rules ?? []), d.rule.name] }),
  });
  onRender?.(data);
  return h("p", { "data-testid": "rules" }, loading ? "loading" : JSON.stringify(data));
}

describe("useRealtimeData", () => {
  test("fetches, patches on events, and leaves no subscription or listener behind", async () => {
    const { client, live, app } = setup({ fetchData: async (guildId) => ({ guildId, rules: [] }) });
    const view = render(app(h(LiveGuild, { guildId: A }, h(Rules))));
    const socket = await live();
    await act(async () => socket.receive(subscribed(A, { seq: 0 })));
    await tick();
    expect(JSON.parse(screen.getByTestId("rules").textContent)).toEqual({ guildId: A, rules: [] });
    expect(socket.sentOfType("subscribe")).toEqual([{ type: "subscribe", guildId: A }]);
    await act(async () => socket.receive(envelope(A, "moderation:rule_created", { rule: { name: "no spam" } }, 1)));
    expect(JSON.parse(screen.getByTestId("rules").textContent).rules).toEqual(["no spam"]);
    expect(client.joinCount(A)).toBe(2); // <LiveGuild> and the hook
    view.unmount();
    await tick();
    expect(client.joinCount(A)).toBe(0);
    expect(client.listenerCount()).toBe(0);
  });

  test("fast guild switches: only the last guild stays joined, and a late answer for an earlier guild is never shown", async () => {
    const pending = [];
    const fetchData = (guildId) => new Promise((resolve) => pending.push({ guildId, resolve }));
    const { client, live, app } = setup({ fetchData });
    const shown = [];
    const page = (g) => app(h(LiveGuild, { guildId: g }, h(Rules, { onRender: (d) => shown.push([g, d?.guildId ?? null]) })));
    const view = render(page(A));
    const socket = await live();
    for (const g of [B, A, B, A, B]) view.rerender(page(g));
    await tick();
    expect(client.joinCount(A)).toBe(0);
    expect(client.joinCount(B)).toBe(2);
    const listeners = client.listenerCount();
    // every fetch answers now, the earlier guilds' ones included
    await act(async () => {
      for (const p of pending) p.resolve({ guildId: p.guildId, rules: [] });
      await flush();
    });
    expect(JSON.parse(screen.getByTestId("rules").textContent).guildId).toBe(B);
    for (const [g, d] of shown) if (d !== null) expect(d).toBe(g); // never another guild's data
    // the server confirms and the pump settles on B alone
    await act(async () => {
      for (const m of socket.sentOfType("subscribe")) socket.receive(subscribed(m.guildId, { seq: 0 }));
      await flush();
    });
    expect(client.isSubscribed(B)).toBe(true);
    expect(client.listenerCount()).toBe(listeners);
    view.unmount();
    await tick();
    expect(client.listenerCount()).toBe(0);
    expect(client.joinCount(B)).toBe(0);
  });
});

describe("useRealtimeEvent", () => {
  test("calls the latest handler, once per event, and only for its guild", async () => {
    const { client, live, app } = setup();
    const calls = [];
    function Toasts({ label }) {
      useRealtimeEvent("moderation:infraction_created", (data) => calls.push([label, data.infraction.id]));
      const { connected } = useLiveUpdates();
      return h("span", { "data-testid": "c" }, String(connected));
    }
    const view = render(app(h(LiveGuild, { guildId: A }, h(Toasts, { label: "v1" }))));
    const socket = await live();
    expect(screen.getByTestId("c").textContent).toBe("true");
    await act(async () => socket.receive(subscribed(A, { seq: 0 })));
    view.rerender(app(h(LiveGuild, { guildId: A }, h(Toasts, { label: "v2" }))));
    await act(async () => {
      socket.receive(envelope(A, "moderation:infraction_created", { infraction: { id: "i1" } }, 1));
      socket.receive(envelope(B, "moderation:infraction_created", { infraction: { id: "other" } }, 1));
    });
    expect(calls).toEqual([["v2", "i1"]]);
    view.unmount();
    await tick();
    expect(client.listenerCount()).toBe(0);
    expect(client.joinCount(A)).toBe(0);
  });
});
