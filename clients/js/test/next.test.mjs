// @liveupdates/client/next: the token route and the guild API proxy, with a stand-in for next-auth's getToken and
// for the bot's API (fetch). Web Request/Response only, as Next.js's route handlers get and return them.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createConnectionToken, createLiveTokenRoute, createGuildApiProxy, readSession } from "../dist/next/index.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const A = "123456789012345678";
const B = "876543210987654321";

/** next-auth's getToken for a request: signed in when it carries `cookie: session=<user>`. */
function fakeGetToken(users) {
  const calls = [];
  const getToken = async (params) => {
    calls.push(params);
    const user = /session=(\w+)/.exec(params.req.headers.get("cookie") ?? "")?.[1];
    const decoded = user ? users[user] : undefined;
    if (!decoded) return null;
    return params.raw ? `jwe-of-${user}` : decoded;
  };
  return { getToken, calls };
}

const users = { ada: { sub: "1", discordId: "100", guilds: [A] }, nobody: { sub: "2" } };

const KEY = "connection-token-key-0123456789-abcdefghijklmnop";

/** Checks a connection token as the LiveUpdates server does (HS256 over the key), and returns its header and claims. */
async function verify(token, key = KEY) {
  const [h, p, sig] = token.split(".");
  const k = await crypto.subtle.importKey("raw", new TextEncoder().encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const ok = await crypto.subtle.verify("HMAC", k, Buffer.from(sig, "base64url"), new TextEncoder().encode(`${h}.${p}`));
  assert.ok(ok, "the signature verifies with the connection-token key");
  return { header: JSON.parse(Buffer.from(h, "base64url")), claims: JSON.parse(Buffer.from(p, "base64url")) };
}

test("the token route mints a connection token from the session: typ, aud, sub, guilds, iat, exp; 401 signed out; never the session token", async () => {
  const { getToken, calls } = fakeGetToken(users);
  const { GET } = createLiveTokenRoute({ getToken, secret: "s", secureCookie: false, connectionTokenKey: KEY, now: () => 1_000_000 });
  const ok = await GET(new Request("http://app/api/live-token", { headers: { cookie: "session=ada" } }));
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get("cache-control"), "no-store");
  const body = await ok.json();
  const { header, claims } = await verify(body.token);
  assert.deepEqual(header, { alg: "HS256", typ: "liveupdates+jwt" });
  assert.deepEqual(claims, { sub: "100", aud: "liveupdates", iat: 1_000_000, exp: 1_000_300, guilds: [A] });
  assert.equal(body.expiresAt, 1_000_300_000);
  assert.ok(!body.token.includes("jwe-of-ada"));
  assert.ok(calls.every((c) => !c.raw), "the raw session token is never read");

  const out = await GET(new Request("http://app/api/live-token"));
  assert.equal(out.status, 401);
  assert.deepEqual(await out.json(), { error: "not signed in" }); // a body the page can read, not an empty 401
});

test("the token route: audience, issuer and lifetime are options (or LIVEUPDATES_TOKEN_* variables); 500 without a key", async () => {
  const { getToken } = fakeGetToken(users);
  const req = new Request("http://app/api/live-token", { headers: { cookie: "session=ada" } });
  const custom = await createLiveTokenRoute({ getToken, secret: "s", connectionTokenKey: KEY, audience: "eu-bot", issuer: "https://dash", lifetimeSeconds: 60, now: () => 10 }).GET(req);
  const { claims } = await verify((await custom.json()).token);
  assert.deepEqual([claims.aud, claims.iss, claims.exp - claims.iat], ["eu-bot", "https://dash", 60]);

  const saved = process.env.LIVEUPDATES_TOKEN_KEY;
  process.env.LIVEUPDATES_TOKEN_KEY = KEY;
  try {
    const fromEnv = await createLiveTokenRoute({ getToken, secret: "s" }).GET(req.clone());
    await verify((await fromEnv.json()).token);
    delete process.env.LIVEUPDATES_TOKEN_KEY;
    const none = await createLiveTokenRoute({ getToken, secret: "s" }).GET(req.clone());
    assert.equal(none.status, 500);
    assert.match((await none.json()).error, /LIVEUPDATES_TOKEN_KEY/);
    const short = await createLiveTokenRoute({ getToken, secret: "s", connectionTokenKey: "short" }).GET(req.clone());
    assert.equal(short.status, 500);
  } finally {
    if (saved !== undefined) process.env.LIVEUPDATES_TOKEN_KEY = saved;
    else delete process.env.LIVEUPDATES_TOKEN_KEY;
  }
  await assert.rejects(createConnectionToken({ userId: "1" }, { connectionTokenKey: "short" }), /32 bytes/);
});

test("forwardSessionToken: the old behaviour, explicitly: 200 { token } = the raw session token, 401 signed out, 500 without a secret", async () => {
  const { getToken, calls } = fakeGetToken(users);
  const { GET } = createLiveTokenRoute({ getToken, secret: "s", secureCookie: false, forwardSessionToken: true });
  const ok = await GET(new Request("http://app/api/live-token", { headers: { cookie: "session=ada" } }));
  assert.equal(ok.status, 200);
  assert.deepEqual(await ok.json(), { token: "jwe-of-ada" });
  assert.deepEqual(calls.map((c) => [c.secret, c.secureCookie, c.raw ?? false]), [["s", false, false], ["s", false, true]]);

  const out = await GET(new Request("http://app/api/live-token"));
  assert.equal(out.status, 401);

  const saved = [process.env.AUTH_SECRET, process.env.NEXTAUTH_SECRET];
  delete process.env.AUTH_SECRET;
  delete process.env.NEXTAUTH_SECRET;
  try {
    const none = await createLiveTokenRoute({ getToken, forwardSessionToken: true }).GET(new Request("http://app/api/live-token", { headers: { cookie: "session=ada" } }));
    assert.equal(none.status, 500);
    assert.match((await none.json()).error, /AUTH_SECRET/);
  } finally {
    if (saved[0] !== undefined) process.env.AUTH_SECRET = saved[0];
    if (saved[1] !== undefined) process.env.NEXTAUTH_SECRET = saved[1];
  }
});

test("readSession: discordId, else sub; guilds, else none", async () => {
  const { getToken } = fakeGetToken(users);
  const req = (u) => new Request("http://app/", { headers: { cookie: `session=${u}` } });
  assert.deepEqual(await readSession({ getToken, secret: "s" }, req("ada")), { userId: "100", guilds: [A] });
  assert.deepEqual(await readSession({ getToken, secret: "s" }, req("nobody")), { userId: "2", guilds: [] });
  assert.equal(await readSession({ getToken, secret: "s" }, req("x")), null);
});

function proxy(options = {}) {
  const { getToken } = fakeGetToken(users);
  const upstream = [];
  const fetch = async (url, init) => {
    upstream.push({ url: String(url), init });
    if (options.down) throw new TypeError("fetch failed");
    return Response.json({ success: true, data: { ok: true } }, { status: 201 });
  };
  const handlers = createGuildApiProxy({ getToken, secret: "s", apiUrl: "http://bot:3001/", fetch, headers: { "X-Bot-Key": "k" }, ...options });
  const call = (method, guildId, segments, { user = "ada", body, query = "" } = {}) =>
    handlers[method](
      new Request(`http://app/api/guilds/${guildId}/${segments.join("/")}${query}`, {
        method,
        headers: { cookie: `session=${user}`, ...(body ? { "Content-Type": "application/json" } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      }),
      { params: Promise.resolve({ guildId, path: segments }) },
    );
  return { call, upstream };
}

test("the proxy forwards a guild of the session: method, path, query, body with the acting user; no cookies; the bot's answer uncached", async () => {
  const { call, upstream } = proxy();
  const get = await call("GET", A, ["moderation", "infractions"], { query: "?limit=25" });
  assert.equal(get.status, 201);
  assert.equal(get.headers.get("cache-control"), "no-store");
  assert.deepEqual(await get.json(), { success: true, data: { ok: true } });
  assert.equal(upstream[0].url, `http://bot:3001/api/guilds/${A}/moderation/infractions?limit=25`);
  assert.equal(upstream[0].init.method, "GET");
  assert.equal(upstream[0].init.headers["X-Bot-Key"], "k");
  assert.ok(!Object.keys(upstream[0].init.headers).some((h) => h.toLowerCase() === "cookie"), "the session cookie stays here");

  await call("POST", A, ["moderation", "rules"], { body: { name: "x", _dashboardUserId: "spoofed" } });
  assert.deepEqual(JSON.parse(upstream[1].init.body), { name: "x", _dashboardUserId: "100" });
  await call("DELETE", A, ["moderation", "rules", "r 1"]);
  assert.equal(upstream[2].url, `http://bot:3001/api/guilds/${A}/moderation/rules/r%201?dashboardUserId=100`);
});

test("the proxy refuses: signed out 401, another guild or a malformed id 403, dot segments 400, an unreachable bot 502", async () => {
  const { call, upstream } = proxy();
  const expectFail = async (response, status, message) => {
    assert.equal(response.status, status);
    assert.deepEqual(await response.json(), { success: false, error: { message } });
  };
  await expectFail(await call("GET", A, ["moderation", "rules"], { user: "x" }), 401, "Not signed in.");
  await expectFail(await call("GET", B, ["moderation", "rules"]), 403, "You have no access to this guild.");
  await expectFail(await call("GET", "../" + A, ["moderation", "rules"]), 403, "You have no access to this guild.");
  for (const segments of [["..", B, "moderation"], ["moderation", "."], ["a", ""], ["a%2F..", ".."], ["a/../b"], ["a\\..\\b"], []]) {
    await expectFail(await call("GET", A, segments), 400, "Invalid path.");
  }
  assert.equal(upstream.length, 0, "nothing refused reached the bot");
  const down = proxy({ down: true });
  await expectFail(await down.call("GET", A, ["moderation", "rules"]), 502, "The bot is not reachable.");
});

test("the server entry point has no browser code: it imports nothing (no client, no React)", () => {
  const code = fs.readFileSync(path.join(root, "dist/next/index.js"), "utf8");
  const statements = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  assert.doesNotMatch(statements, /\bimport\b|\brequire\(|\bfrom\s+["']/);
  assert.doesNotMatch(statements, /use client|WebSocket|React/);
});
