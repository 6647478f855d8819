// The bot's plugin API, proxied: the browser calls /api/guilds/{guildId}/… on this origin (no CORS, the session
// cookie comes along), this handler checks that the signed-in user may open that guild (the `guilds` of their
// session, the same list the WebSocket server enforces), adds the acting user (`_dashboardUserId`), and forwards to
// the bot host, which is not exposed to browsers. A plain `rewrites()` entry could not check access. See README.md.
import type { NextRequest } from "next/server";
import { botApiUrl, sessionToken } from "@/lib/session";

export const dynamic = "force-dynamic";

type Params = { params: Promise<{ guildId: string; path: string[] }> };

async function proxy(req: NextRequest, { params }: Params): Promise<Response> {
  const { guildId, path } = await params;
  const session = await sessionToken(req);
  if (!session) return fail(401, "Not signed in.");
  if (!/^[0-9]{1,20}$/.test(guildId) || !(session.guilds ?? []).includes(guildId)) return fail(403, "You have no access to this guild.");

  const userId = session.discordId ?? session.sub ?? "";
  const url = new URL(`${botApiUrl}/api/guilds/${guildId}/${path.map(encodeURIComponent).join("/")}`);
  req.nextUrl.searchParams.forEach((value, key) => url.searchParams.set(key, value));
  let body: string | undefined;
  if (req.method === "DELETE") {
    url.searchParams.set("dashboardUserId", userId);
  } else if (req.method !== "GET" && req.method !== "HEAD") {
    const json = await req.json().catch(() => ({}));
    body = JSON.stringify(json && typeof json === "object" && !Array.isArray(json) ? { ...json, _dashboardUserId: userId } : json);
  }
  try {
    const upstream = await fetch(url, {
      method: req.method,
      headers: { Accept: "application/json", ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
      body,
      cache: "no-store",
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { "Content-Type": upstream.headers.get("Content-Type") ?? "application/json", "Cache-Control": "no-store" },
    });
  } catch {
    return fail(502, "The bot is not reachable.");
  }
}

function fail(status: number, message: string) {
  return Response.json({ success: false, error: { message } }, { status, headers: { "Cache-Control": "no-store" } });
}

export { proxy as GET, proxy as POST, proxy as PUT, proxy as PATCH, proxy as DELETE };
