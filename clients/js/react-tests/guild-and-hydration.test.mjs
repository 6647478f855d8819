// A guild the server refuses is visible through the React API (useGuildSubscription, <ConnectionIndicator>), and the
// bindings hydrate what the server rendered without a mismatch (server: no client, no socket; browser: a client).
import { describe, test, expect, afterEach } from "vitest";
import { createElement as h, StrictMode } from "react";
import { renderToString } from "react-dom/server";
import { hydrateRoot } from "react-dom/client";
import { render, screen, act, cleanup } from "@testing-library/react";
import { LiveUpdatesClient } from "../dist/index.js";
import { LiveUpdatesProvider, LiveGuild, ConnectionIndicator, useGuildSubscription, useRealtimeData, useConnectionStatus } from "../dist/react/index.js";
import { FakeClock, fakeWebSocketClass, flush, subscribed } from "../testing/fakes.mjs";

const A = "123456789012345678";
const B = "876543210987654321";

afterEach(() => cleanup());

function setup() {
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
    fetchData: async (guildId, path) => ({ guildId, path }),
  });
  async function live(guilds = [A, B]) {
    const socket = sockets[sockets.length - 1];
    await act(async () => {
      socket.open();
      await flush();
      socket.receive({ event: "connected", data: { pingIntervalMs: 20000 } });
      socket.receive({ event: "authenticated", data: { userId: "1", guilds } });
      await flush();
    });
    return socket;
  }
  return { client, sockets, live };
}

function GuildState() {
  const { guildId, state, error } = useGuildSubscription();
  return h("p", { "data-testid": "guild" }, `${guildId} ${state} ${error ? `${error.code}: ${error.message}` : "-"}`);
}

describe("a refused guild", () => {
  test("useGuildSubscription goes pending → refused with the server's code and message, and the indicator says No access", async () => {
    const { client, live } = setup();
    render(
      h(StrictMode, null,
        h(LiveUpdatesProvider, { client },
          h(ConnectionIndicator), // outside the guild: every joined guild counts
          h(LiveGuild, { guildId: A }, h(GuildState), h(ConnectionIndicator, { className: "inner" })))),
    );
    expect(screen.getByTestId("guild").textContent).toBe(`${A} pending -`);
    const socket = await live([]); // a token without the guild: authenticated, then FORBIDDEN
    expect(socket.sentOfType("subscribe")).toEqual([{ type: "subscribe", guildId: A }]);
    const [outer, inner] = screen.getAllByRole("status");
    expect(outer.dataset.status).toBe("live");
    await act(async () => socket.receive({ event: "error", guildId: A, data: { code: "FORBIDDEN", message: "You may not see this guild." } }));
    expect(screen.getByTestId("guild").textContent).toBe(`${A} refused FORBIDDEN: You may not see this guild.`);
    for (const indicator of [outer, inner]) {
      expect(indicator.dataset.status).toBe("refused");
      expect(indicator.textContent).toBe("No access");
      expect(indicator.title).toBe("You may not see this guild.");
    }
    expect(client.guildState(A)).toBe("refused");
  });

  test("a subscribed guild is subscribed; leaving the refused guild clears the indicator", async () => {
    const s = setup();
    const page = (g) => h(LiveUpdatesProvider, { client: s.client }, h(ConnectionIndicator), h(LiveGuild, { guildId: g }, h(GuildState)));
    const view = render(page(A));
    const socket = await s.live([B]);
    await act(async () => socket.receive({ event: "error", guildId: A, data: { code: "FORBIDDEN", message: "no" } }));
    expect(screen.getByRole("status").dataset.status).toBe("refused");
    view.rerender(page(B));
    await act(async () => {
      await flush();
      socket.receive(subscribed(B, { seq: 0 }));
    });
    expect(screen.getByTestId("guild").textContent).toBe(`${B} subscribed -`);
    expect(screen.getByRole("status").dataset.status).toBe("live");
  });
});

describe("server rendering, then hydration", () => {
  function Page() {
    const { data, loading, error } = useRealtimeData({ path: "moderation/config", events: ["moderation:config_updated"] });
    const status = useConnectionStatus();
    const { state } = useGuildSubscription();
    return h("div", null,
      h(ConnectionIndicator),
      h("p", null, `${status} ${state}`),
      error ? h("p", null, String(error)) : loading && !data ? h("p", null, "Loading…") : h("pre", null, JSON.stringify(data)));
  }
  const app = (props) => h(StrictMode, null, h(LiveUpdatesProvider, props, h(LiveGuild, { guildId: A }, h(Page))));

  test("the browser's first render is the server's HTML: no hydration error", async () => {
    // The server: no window, so the provider makes no client (as under Next.js).
    const window = globalThis.window;
    let html;
    try {
      delete globalThis.window;
      html = renderToString(app({ url: "ws://test:3002", getToken: () => "t" }));
    } finally {
      globalThis.window = window;
    }
    const container = document.createElement("div");
    container.innerHTML = html;
    document.body.appendChild(container);
    const errors = [];
    const { FakeWebSocket } = fakeWebSocketClass();
    let root;
    await act(async () => {
      root = hydrateRoot(container, app({ url: "ws://test:3002", getToken: () => "t", WebSocket: FakeWebSocket, resume: false }), {
        onRecoverableError: (e) => errors.push(e),
        onUncaughtError: (e) => errors.push(e),
        onCaughtError: (e) => errors.push(e),
      });
      await flush();
    });
    expect(errors.map(String)).toEqual([]);
    await act(async () => root.unmount());
    container.remove();
  });
});

describe("tokenUrl", () => {
  test("the provider authenticates with { token } from the route (GET, uncached)", async () => {
    const { FakeWebSocket, sockets } = fakeWebSocketClass();
    const answers = [new Response(JSON.stringify({ token: "from-route" }), { status: 200 })];
    const requests = [];
    const realFetch = globalThis.fetch;
    globalThis.fetch = async (url, init) => {
      requests.push([String(url), init?.cache]);
      return answers.shift();
    };
    try {
      render(h(LiveUpdatesProvider, { url: "ws://own:1", tokenUrl: "/api/live-token", WebSocket: FakeWebSocket, resume: false }, h(ConnectionIndicator)));
      await act(async () => {
        await flush();
        sockets[0].open();
        await new Promise((r) => setTimeout(r, 5));
        await flush();
      });
      expect(requests).toEqual([["/api/live-token", "no-store"]]);
      expect(sockets[0].sent[0]).toEqual({ type: "auth", token: "from-route", batch: true });
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});

describe("useRealtimeData: initialData and renders", () => {
  function counting(fetchData) {
    const clock = new FakeClock();
    const { FakeWebSocket, sockets } = fakeWebSocketClass();
    const client = new LiveUpdatesClient({
      url: "ws://test:3002", token: "t", WebSocket: FakeWebSocket, resume: false, random: () => 0.5,
      timers: { setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout }, now: clock.now, fetchData,
    });
    return { client, sockets };
  }

  test("initialData renders at once (server and browser alike), is not fetched on mount, and is refetched once the subscription is confirmed", async () => {
    const fetches = [];
    const { client, sockets } = counting(async (guildId, path) => {
      fetches.push(path);
      return { rules: ["fresh"] };
    });
    const seen = [];
    function Rules() {
      const { data, loading } = useRealtimeData({ path: "moderation/rules", events: ["moderation:rule_created"], initialData: { rules: ["server"] } });
      seen.push([loading, data?.rules[0]]);
      return h("p", { "data-testid": "r" }, `${loading} ${data?.rules[0]}`);
    }
    const window = globalThis.window;
    let html;
    try {
      delete globalThis.window;
      html = renderToString(h(LiveUpdatesProvider, { url: "ws://x", token: "t" }, h(LiveGuild, { guildId: A }, h(Rules))));
    } finally {
      globalThis.window = window;
    }
    expect(html).toContain("false server");
    render(h(LiveUpdatesProvider, { client }, h(LiveGuild, { guildId: A }, h(Rules))));
    await act(async () => {
      await flush();
    });
    expect(screen.getByTestId("r").textContent).toBe("false server");
    expect(fetches).toEqual([]); // nothing fetched on mount
    const socket = sockets[0];
    await act(async () => {
      socket.open();
      await flush();
      socket.receive({ event: "connected", data: { pingIntervalMs: 20000 } });
      socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A] } });
      await flush();
      socket.receive(subscribed(A, { seq: 0 }));
      await flush();
    });
    expect(fetches).toEqual(["moderation/rules"]); // once, for what happened between the server's fetch and the subscription
    expect(screen.getByTestId("r").textContent).toBe("false fresh");
    expect(seen.every(([, d]) => d !== undefined)).toBe(true); // never without data: no loading flash
  });

  test("one render per event, and the hook's functions keep their identity", async () => {
    const { client, sockets } = counting(async () => ({ rules: [] }));
    let renders = 0;
    const handles = new Set();
    function Rules() {
      renders += 1;
      const { data, refetch, setData } = useRealtimeData({
        path: "moderation/rules",
        events: ["moderation:rule_created"],
        onEvent: (_event, d, current) => ({ rules: [...current.rules, d.rule.name] }),
      });
      handles.add(refetch).add(setData);
      return h("p", { "data-testid": "r" }, JSON.stringify(data));
    }
    render(h(LiveUpdatesProvider, { client }, h(LiveGuild, { guildId: A }, h(Rules))));
    const socket = sockets[0];
    await act(async () => {
      socket.open();
      await flush();
      socket.receive({ event: "connected", data: { pingIntervalMs: 20000 } });
      socket.receive({ event: "authenticated", data: { userId: "1", guilds: [A] } });
      await flush();
      socket.receive(subscribed(A, { seq: 0 }));
      await flush();
    });
    const before = renders;
    for (let seq = 1; seq <= 5; seq++) {
      await act(async () => socket.receive({ event: "moderation:rule_created", guildId: A, data: { rule: { name: `r${seq}` } }, seq, epoch: "e1", timestamp: 0 }));
    }
    expect(JSON.parse(screen.getByTestId("r").textContent).rules).toEqual(["r1", "r2", "r3", "r4", "r5"]);
    expect(renders - before).toBe(5);
    expect(handles.size).toBe(2);
  });
});

describe("useRealtimeData: throwOnError", () => {
  test("a failed fetch reaches the nearest error boundary as a RealtimeDataError", async () => {
    const { Component } = await import("react");
    const { RealtimeDataError } = await import("../dist/react/index.js");
    class Boundary extends Component {
      constructor(props) {
        super(props);
        this.state = { error: null };
      }
      static getDerivedStateFromError(error) {
        return { error };
      }
      render() {
        return this.state.error ? h("p", { "data-testid": "caught" }, `${this.state.error.name}: ${this.state.error.message} (${this.state.error.path})`) : this.props.children;
      }
    }
    let returned = null;
    function Rules({ throwOnError }) {
      const { error } = useRealtimeData({ path: "moderation/rules", events: [], throwOnError });
      if (!throwOnError) returned = error;
      return h("p", { "data-testid": "returned" }, error ? error.message : "-");
    }
    const { FakeWebSocket } = fakeWebSocketClass();
    const client = new LiveUpdatesClient({ url: "ws://x", token: "t", WebSocket: FakeWebSocket, resume: false, fetchData: async () => { throw new Error("HTTP 403 for moderation/rules"); } });
    const errors = console.error;
    console.error = () => {}; // React logs the caught error
    try {
      render(h(LiveUpdatesProvider, { client }, h(LiveGuild, { guildId: A }, h(Boundary, null, h(Rules, { throwOnError: true })), h(Rules, { throwOnError: false }))));
      await act(async () => {
        await flush();
        await new Promise((r) => setTimeout(r, 5));
      });
    } finally {
      console.error = errors;
    }
    expect(screen.getByTestId("caught").textContent).toBe("RealtimeDataError: HTTP 403 for moderation/rules (moderation/rules)");
    // Without the option the same kind of error is returned: an Error, with the guild and path, not a string.
    expect(screen.getByTestId("returned").textContent).toBe("HTTP 403 for moderation/rules");
    expect(returned).toBeInstanceOf(RealtimeDataError);
    expect(returned).toBeInstanceOf(Error);
    expect([returned.guildId, returned.path, returned.message]).toEqual([A, "moderation/rules", "HTTP 403 for moderation/rules"]);
    expect(returned.cause).toBeInstanceOf(Error);
  });
});
