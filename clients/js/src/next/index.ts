// @liveupdates/client/next: the server half of a Next.js dashboard, as route handlers (App Router, Web Request and
// Response only: no browser code, no React, and no import of next or next-auth, whose getToken you hand in).
//  - createLiveTokenRoute: GET /api/live-token, the connection token the browser authenticates its WebSocket with,
//    minted here from the session (createConnectionToken, WebCrypto HS256 with LIVEUPDATES_TOKEN_KEY).
//  - createGuildApiProxy: /api/guilds/[guildId]/[...path], the bot's HTTP API behind the session's guild check.

/** next-auth's (v4) or Auth.js's (v5) `getToken` from "next-auth/jwt": the decoded session token, or its raw value. */
export type GetSessionToken = (params: { req: any; secret?: string; secureCookie?: boolean; raw?: boolean; salt?: string; cookieName?: string }) => Promise<unknown>;

export interface SessionTokenOptions {
  /** `getToken` from "next-auth/jwt" (next-auth v4 or Auth.js v5). */
  getToken: GetSessionToken;
  /** The secret next-auth encrypts its session token with (shared with the bot host). Default: AUTH_SECRET, else NEXTAUTH_SECRET. */
  secret?: string;
  /** Whether the session cookie is the `__Secure-` one. Default: NEXTAUTH_URL (or AUTH_URL) starts with https://. */
  secureCookie?: boolean;
  /** Passed on to getToken (Auth.js v5 with a custom cookie name). */
  cookieName?: string;
  salt?: string;
}

/** Who is signed in, as the dashboard's server reads it from the session token. */
export interface DashboardSession {
  /** The Discord user id (what the bot host's UserIdClaim reads). */
  userId: string;
  /** The guilds this user may open (the same list the WebSocket server enforces). */
  guilds: readonly string[];
}

type Env = Record<string, string | undefined>;
const env = (): Env => (globalThis as { process?: { env?: Env } }).process?.env ?? {};

function tokenParams(options: SessionTokenOptions, req: Request, raw: boolean) {
  const e = env();
  const secret = options.secret ?? e.AUTH_SECRET ?? e.NEXTAUTH_SECRET;
  const secureCookie = options.secureCookie ?? (e.NEXTAUTH_URL ?? e.AUTH_URL ?? "").startsWith("https://");
  const params: Parameters<GetSessionToken>[0] = { req, secret, secureCookie };
  if (raw) params.raw = true;
  if (options.cookieName !== undefined) params.cookieName = options.cookieName;
  if (options.salt !== undefined) params.salt = options.salt;
  return params;
}

/**
 * The decoded session of a request: `userId` from the token's `discordId`, else `sub`; `guilds` from its `guilds`
 * claim (empty without one). Null when signed out or the session has expired.
 */
export async function readSession(options: SessionTokenOptions, req: Request): Promise<DashboardSession | null> {
  const decoded = (await options.getToken(tokenParams(options, req, false))) as { discordId?: unknown; sub?: unknown; guilds?: unknown } | null;
  if (!decoded || typeof decoded !== "object") return null;
  const userId = typeof decoded.discordId === "string" ? decoded.discordId : typeof decoded.sub === "string" ? decoded.sub : "";
  const guilds = Array.isArray(decoded.guilds) ? decoded.guilds.filter((g): g is string => typeof g === "string") : [];
  return { userId, guilds };
}

const noStore = { "Cache-Control": "no-store" };

function json(status: number, body: unknown): Response {
  return Response.json(body, { status, headers: noStore });
}

/** The claims of a connection token the dashboard's server vouches for (docs/security.md defines the format). */
export interface ConnectionTokenClaims {
  /** The Discord user id (`sub`). */
  userId: string;
  /** The guilds the user may open (`guilds`), for a bot host without a member source. */
  guilds?: readonly string[];
}

export interface ConnectionTokenOptions {
  /**
   * The LiveUpdates server's ConnectionTokenKey (at least 32 bytes), shared by this server and the bot host only —
   * never the dashboard's AUTH_SECRET. Default: LIVEUPDATES_TOKEN_KEY.
   */
  connectionTokenKey?: string;
  /** `aud`: the server's ConnectionTokenAudience. Default: LIVEUPDATES_TOKEN_AUDIENCE, else `"liveupdates"`. */
  audience?: string;
  /** `iss`, when the server checks ConnectionTokenIssuer. Default: LIVEUPDATES_TOKEN_ISSUER, else none. */
  issuer?: string;
  /** Lifetime in seconds; the client renews a quarter of it early (at most a minute). Default 300 (5 minutes). */
  lifetimeSeconds?: number;
  /** Seconds since the epoch. Default: `Date.now() / 1000`. */
  now?: () => number;
}

const TOKEN_TYPE = "liveupdates+jwt";
const MIN_KEY_BYTES = 32;
const utf8 = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function connectionKey(options: ConnectionTokenOptions): string | undefined {
  const key = options.connectionTokenKey ?? env().LIVEUPDATES_TOKEN_KEY;
  return key ? key : undefined;
}

/**
 * Mints a connection token with WebCrypto (HS256): header `{ alg: "HS256", typ: "liveupdates+jwt" }`, claims `sub`,
 * `aud`, `iss` (when given), `iat`, `exp` and `guilds` (when given). Throws without a key of at least 32 bytes.
 */
export async function createConnectionToken(claims: ConnectionTokenClaims, options: ConnectionTokenOptions = {}): Promise<string> {
  const key = connectionKey(options);
  if (!key || utf8.encode(key).length < MIN_KEY_BYTES) {
    throw new Error("LIVEUPDATES_TOKEN_KEY is not set (or shorter than 32 bytes): set the bot host's ConnectionTokenKey here too");
  }
  const e = env();
  const now = Math.floor(options.now ? options.now() : Date.now() / 1000);
  const payload: Record<string, unknown> = { sub: claims.userId, aud: options.audience ?? e.LIVEUPDATES_TOKEN_AUDIENCE ?? "liveupdates" };
  const issuer = options.issuer ?? e.LIVEUPDATES_TOKEN_ISSUER;
  if (issuer) payload.iss = issuer;
  payload.iat = now;
  payload.exp = now + (options.lifetimeSeconds ?? 300);
  if (claims.guilds) payload.guilds = [...claims.guilds];
  const signingInput = `${base64url(utf8.encode(JSON.stringify({ alg: "HS256", typ: TOKEN_TYPE })))}.${base64url(utf8.encode(JSON.stringify(payload)))}`;
  const cryptoKey = await globalThis.crypto.subtle.importKey("raw", utf8.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", cryptoKey, utf8.encode(signingInput)));
  return `${signingInput}.${base64url(signature)}`;
}

export interface LiveTokenRouteOptions extends SessionTokenOptions, ConnectionTokenOptions {
  /** Who is signed in. Default: readSession (the session token's discordId/sub and guilds). */
  session?: (req: Request) => Promise<DashboardSession | null>;
  /**
   * Hand the page the raw session token instead of a connection token: the behaviour before connection tokens, for a
   * bot host with AcceptSessionTokens on. It gives page scripts the whole session; migrate and leave it off.
   */
  forwardSessionToken?: boolean;
}

/**
 * `GET /api/live-token` for `<LiveUpdatesProvider getToken>`: `200 { token, expiresAt }` for a signed-in user (a
 * connection token minted from the session, valid `lifetimeSeconds`; `expiresAt` in ms since the epoch), `401 { error }`
 * when signed out, `500 { error }` without a key (JSON either way, never cached). The provider calls it on every
 * (re)connect and before the token expires, so a signed-out user loses the socket within one token lifetime.
 *
 * ```ts
 * // app/api/live-token/route.ts
 * import { getToken } from "next-auth/jwt";
 * import { createLiveTokenRoute } from "@liveupdates/client/next";
 * export const dynamic = "force-dynamic";
 * export const { GET } = createLiveTokenRoute({ getToken }); // signs with LIVEUPDATES_TOKEN_KEY
 * ```
 */
export function createLiveTokenRoute(options: LiveTokenRouteOptions): { GET(req: Request): Promise<Response> } {
  return {
    async GET(req: Request): Promise<Response> {
      if (options.forwardSessionToken) {
        if (!tokenParams(options, req, false).secret) {
          return json(500, { error: "AUTH_SECRET is not set: set the same value for this app and the bot host" });
        }
        const session = await options.getToken(tokenParams(options, req, false)); // only a session valid now
        const token = session ? await options.getToken(tokenParams(options, req, true)) : null;
        if (typeof token !== "string" || token === "") return json(401, { error: "not signed in" });
        return json(200, { token });
      }
      const key = connectionKey(options);
      if (!key || utf8.encode(key).length < MIN_KEY_BYTES) {
        return json(500, { error: "LIVEUPDATES_TOKEN_KEY is not set (or shorter than 32 bytes): set the bot host's ConnectionTokenKey here too" });
      }
      if (!options.session && !tokenParams(options, req, false).secret) {
        return json(500, { error: "AUTH_SECRET is not set: the session cannot be read" });
      }
      const session = options.session ? await options.session(req) : await readSession(options, req);
      if (!session || !session.userId) return json(401, { error: "not signed in" });
      const token = await createConnectionToken({ userId: session.userId, guilds: session.guilds }, options);
      const exp = JSON.parse(atob(token.split(".")[1]!.replace(/-/g, "+").replace(/_/g, "/"))).exp as number;
      return json(200, { token, expiresAt: exp * 1000 });
    },
  };
}

export interface GuildApiProxyOptions extends SessionTokenOptions {
  /** The bot's HTTP API as this server reaches it, e.g. `http://127.0.0.1:3001` (never exposed to browsers). */
  apiUrl: string;
  /** The upstream URL of a guild's path. Default: `${apiUrl}/api/guilds/${guildId}/${path}`. */
  upstream?: (guildId: string, path: string, apiUrl: string) => string;
  /** Who the signed-in user is and which guilds they may open. Default: readSession (the token's discordId/sub and guilds). */
  session?: (req: Request) => Promise<DashboardSession | null>;
  /**
   * How the acting user is passed to the bot: in a JSON body as `bodyField`, on DELETE as the query `queryParam`
   * (the sample host's API: `_dashboardUserId` / `dashboardUserId`, the default). `false`: not passed.
   */
  actingUser?: { bodyField: string; queryParam: string } | false;
  /** Extra headers for the bot's API (e.g. its own key): a record, or a function of the session. */
  headers?: Record<string, string> | ((session: DashboardSession) => Record<string, string>);
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
}

/** The route's context in Next.js 15 and later (params is a promise; a plain object is accepted too). */
export interface GuildRouteContext {
  params: Promise<{ guildId: string; path?: string[] }> | { guildId: string; path?: string[] };
}

export type GuildApiHandler = (req: Request, context: GuildRouteContext) => Promise<Response>;

const SNOWFLAKE = /^[0-9]{1,20}$/;

/**
 * `/api/guilds/[guildId]/[...path]`: the bot's API for `useRealtimeData` and the page's writes. It answers
 * `401` when signed out, `403` for a guild not in the session's guilds, `400` for a path with an empty, `.` or `..`
 * segment (or a `/` or `\` inside one), `502` when the bot does not answer; otherwise forwards the method, the query
 * and the JSON body (with the acting user), without the browser's cookies, and returns the bot's answer uncached.
 * Errors are the bot API's shape, `{ success: false, error: { message } }`.
 *
 * ```ts
 * // app/api/guilds/[guildId]/[...path]/route.ts
 * import { getToken } from "next-auth/jwt";
 * import { createGuildApiProxy } from "@liveupdates/client/next";
 * export const dynamic = "force-dynamic";
 * export const { GET, POST, PUT, PATCH, DELETE } = createGuildApiProxy({ getToken, apiUrl: process.env.BOT_API_URL! });
 * ```
 */
export function createGuildApiProxy(options: GuildApiProxyOptions): Record<"GET" | "POST" | "PUT" | "PATCH" | "DELETE", GuildApiHandler> {
  const acting = options.actingUser === undefined ? { bodyField: "_dashboardUserId", queryParam: "dashboardUserId" } : options.actingUser;
  const upstreamUrl = options.upstream ?? ((guildId: string, path: string, apiUrl: string) => `${apiUrl.replace(/\/+$/, "")}/api/guilds/${guildId}/${path}`);
  const fail = (status: number, message: string) => json(status, { success: false, error: { message } });

  const handler: GuildApiHandler = async (req, context) => {
    const { guildId, path = [] } = await context.params;
    const session = options.session ? await options.session(req) : await readSession(options, req);
    if (!session) return fail(401, "Not signed in.");
    if (!SNOWFLAKE.test(guildId) || !session.guilds.includes(guildId)) return fail(403, "You have no access to this guild.");
    if (path.length === 0 || path.some((s) => s === "" || s === "." || s === ".." || /[/\\]/.test(s))) return fail(400, "Invalid path.");

    const url = new URL(upstreamUrl(guildId, path.map(encodeURIComponent).join("/"), options.apiUrl));
    new URL(req.url).searchParams.forEach((value, key) => url.searchParams.set(key, value));
    let body: string | undefined;
    if (req.method === "DELETE") {
      if (acting) url.searchParams.set(acting.queryParam, session.userId);
    } else if (req.method !== "GET" && req.method !== "HEAD") {
      const parsed: unknown = await req.json().catch(() => ({}));
      const withUser = acting && parsed && typeof parsed === "object" && !Array.isArray(parsed) ? { ...parsed, [acting.bodyField]: session.userId } : parsed;
      body = JSON.stringify(withUser);
    }
    const extra = typeof options.headers === "function" ? options.headers(session) : (options.headers ?? {});
    try {
      const upstream = await (options.fetch ?? globalThis.fetch)(url, {
        method: req.method,
        headers: { Accept: "application/json", ...(body !== undefined ? { "Content-Type": "application/json" } : {}), ...extra },
        body,
        cache: "no-store",
        redirect: "manual",
      });
      return new Response(upstream.body, {
        status: upstream.status,
        headers: { "Content-Type": upstream.headers.get("Content-Type") ?? "application/json", ...noStore },
      });
    } catch {
      return fail(502, "The bot is not reachable.");
    }
  };
  return { GET: handler, POST: handler, PUT: handler, PATCH: handler, DELETE: handler };
}
