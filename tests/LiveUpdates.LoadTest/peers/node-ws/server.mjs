// The load tool's Node.js peer: the seed's own design (seed plan §3.1), a `ws` server holding
// Map<guildId, Set<socket>>, each event JSON.stringify'd once and sent to every open member, the seed's
// envelope {event, data, guildId, timestamp}, HS256 tokens checked with node:crypto, and the seed's
// 30 s ping heartbeat. No send bound: the seed has none (ws buffers what the socket does not take).
//
// Driven by the load tool exactly like its .NET servers (Servers/ServerProcess.cs): one command per line on
// stdin, one JSON line per command on stdout. Usage: node --expose-gc server.mjs --port P --secret S
import { createHmac, timingSafeEqual } from "node:crypto";
import { createInterface } from "node:readline";
import { WebSocketServer, WebSocket } from "ws";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const port = Number(args.port ?? 3002);
const secret = Buffer.from(args.secret ?? "", "utf8");
const EVENT_NAME = "bench:tick";
const CLOCK_SKEW_S = 30;

// Events carry their send time as Stopwatch ticks of the .NET generator: on Linux both are CLOCK_MONOTONIC in ns.
const now = () => process.hrtime.bigint();
if (Number(now()) > Number.MAX_SAFE_INTEGER) {
  console.error("the monotonic clock in ns does not fit a JSON number exactly (uptime > 104 days)");
  process.exit(3);
}

/** @type {Map<string, Set<WebSocket>>} */
const guildRooms = new Map();
let connections = 0;
const counters = { heartbeat_terminations: 0 };

const send = (ws, message) => ws.send(JSON.stringify(message));
const sendError = (ws, code, message) => send(ws, { event: "error", data: { message, code } });

function verifyHs256(token) {
  if (typeof token !== "string") return null;
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    if (header.alg !== "HS256") return null;
    const expected = createHmac("sha256", secret).update(`${parts[0]}.${parts[1]}`).digest();
    const actual = Buffer.from(parts[2], "base64url");
    if (actual.length !== expected.length || !timingSafeEqual(actual, expected)) return null;
    const payload = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    const nowS = Date.now() / 1000;
    if (typeof payload.exp === "number" && payload.exp + CLOCK_SKEW_S < nowS) return null;
    if (typeof payload.nbf === "number" && payload.nbf - CLOCK_SKEW_S > nowS) return null;
    if (typeof payload.sub !== "string" || payload.sub.length === 0) return null;
    return { userId: payload.sub, guilds: Array.isArray(payload.guilds) ? payload.guilds : [] };
  } catch {
    return null;
  }
}

function broadcastToGuild(guildId, event, data) {
  const room = guildRooms.get(guildId);
  if (!room || room.size === 0) return;
  const message = JSON.stringify({ event, data, guildId, timestamp: Date.now() });
  for (const client of room) {
    if (client.readyState === WebSocket.OPEN) client.send(message);
  }
}

function leave(ws, guildId) {
  const room = guildRooms.get(guildId);
  if (!room) return;
  room.delete(ws);
  if (room.size === 0) guildRooms.delete(guildId);
}

function handleClientMessage(ws, msg) {
  switch (msg?.type) {
    case "ping":
      send(ws, { event: "pong", data: {} });
      break;
    case "auth": {
      ws.user = verifyHs256(msg.token);
      if (ws.user) send(ws, { event: "authenticated", data: { userId: ws.user.userId, guilds: ws.user.guilds } });
      else sendError(ws, "TOKEN_INVALID", "The token is invalid.");
      break;
    }
    case "subscribe": {
      const guildId = msg.guildId;
      if (!ws.user) sendError(ws, "AUTH_REQUIRED", "Send an auth message first.");
      else if (typeof guildId !== "string" || !ws.user.guilds.includes(guildId)) sendError(ws, "FORBIDDEN", "No access to this guild.");
      else {
        if (!guildRooms.has(guildId)) guildRooms.set(guildId, new Set());
        guildRooms.get(guildId).add(ws);
        ws.guildIds.add(guildId);
        send(ws, { event: "subscribed", guildId, data: { guildId } });
      }
      break;
    }
    case "unsubscribe":
      if (typeof msg.guildId === "string" && ws.guildIds.delete(msg.guildId)) leave(ws, msg.guildId);
      send(ws, { event: "unsubscribed", guildId: msg.guildId, data: { guildId: msg.guildId } });
      break;
    default:
      sendError(ws, "INVALID_MESSAGE", "Unknown or malformed message.");
  }
}

const wss = new WebSocketServer({ host: "127.0.0.1", port });
wss.on("connection", (ws) => {
  connections++;
  ws.isAlive = true;
  ws.guildIds = new Set();
  ws.on("pong", () => (ws.isAlive = true));
  ws.on("message", (raw) => {
    let msg;
    try {
      msg = JSON.parse(raw.toString());
    } catch {
      sendError(ws, "INVALID_JSON", "Invalid JSON");
      return;
    }
    handleClientMessage(ws, msg);
  });
  ws.on("close", () => {
    connections--;
    for (const guildId of ws.guildIds) leave(ws, guildId);
  });
  ws.on("error", () => {});
  send(ws, { event: "connected", data: { message: "Authenticate with { type: 'auth', token: '<session-token>' }" } });
});

// The seed's heartbeat: ping every 30 s, terminate a socket that did not answer the previous ping.
const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (!ws.isAlive) {
      counters.heartbeat_terminations++;
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, 30_000);

const reply = (value) => process.stdout.write(JSON.stringify(value) + "\n");

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

/**
 * Broadcasts count events round-robin over guilds, paced at rate per second (0: as fast as it can), timing each
 * call; stops early after maxSeconds (0: never) and says how many it made. Between calls it yields to the event loop (setImmediate), as an async plugin does between its awaits: a
 * synchronous loop would send nothing more until it ended and hold every later frame in memory meanwhile.
 */
async function bcast(cmd) {
  const pad = "x".repeat(cmd.padBytes);
  const durations = new Float64Array(cmd.count);
  const intervalNs = cmd.rate > 0 ? 1e9 / cmd.rate : 0;
  const start = now();
  let first = 0n;
  let last = 0n;
  const cap = cmd.maxSeconds > 0 ? start + BigInt(Math.round(cmd.maxSeconds * 1e9)) : null;
  let sent = 0;
  for (let i = 0; i < cmd.count && (cap === null || now() < cap); i++, sent++) {
    if (intervalNs > 0) {
      const due = start + BigInt(Math.round(i * intervalNs));
      const waitMs = Number(due - now()) / 1e6;
      if (waitMs > 0.3) await new Promise((r) => setTimeout(r, Math.max(0, waitMs - 0.3)));
    } else if (i > 0) {
      await new Promise((r) => setImmediate(r));
    }
    const t0 = now();
    broadcastToGuild(cmd.guilds[i % cmd.guilds.length], EVENT_NAME, { t: Number(t0), i, pad });
    const t1 = now();
    durations[i] = Number(t1 - t0) / 1000;
    if (i === 0) first = t0;
    last = t1;
  }
  const made = durations.subarray(0, Math.max(1, sent)).sort();
  const mean = made.reduce((a, b) => a + b, 0) / made.length;
  return {
    count: sent,
    first: Number(first),
    last: Number(last),
    seconds: Number(last - first) / 1e9,
    callMeanUs: mean,
    callP50Us: quantile(made, 0.5),
    callP99Us: quantile(made, 0.99),
    callMaxUs: made[made.length - 1],
    callCpuP50Us: 0,
    callCpuP99Us: 0,
    callerAllocPerCall: 0,
  };
}

function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { rss: m.rss, gcHeap: m.heapUsed + m.external, gcCommitted: m.heapTotal, threads: 1, connections };
}

wss.on("listening", () => {
  reply({ ready: true, server: "node-ws", pid: process.pid, gc: `node ${process.version}, V8` });
  // Commands one at a time, in order, like the .NET server process.
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    queue = queue.then(async () => {
      const space = line.indexOf(" ");
      const command = space < 0 ? line : line.slice(0, space);
      const argument = space < 0 ? "" : line.slice(space + 1);
      switch (command) {
        case "mem":
          reply(memory());
          break;
        case "bcast":
          reply(await bcast(JSON.parse(argument)));
          break;
        case "alloc": {
          const cpu = process.cpuUsage();
          reply({ allocated: 0, gen0: 0, gen1: 0, gen2: 0, cpuMs: (cpu.user + cpu.system) / 1000, threads: 1 });
          break;
        }
        case "alloctypes":
          reply({});
          break;
        case "stats":
          reply({ connections, counters });
          break;
        case "quit":
          reply({ bye: true });
          clearInterval(heartbeat);
          for (const ws of wss.clients) ws.terminate();
          wss.close(() => process.exit(0));
          setTimeout(() => process.exit(0), 2000).unref();
          break;
        default:
          reply({ error: `unknown command '${command}'` });
      }
    });
  });
  lines.on("close", () => process.exit(0)); // the load tool went away
});
