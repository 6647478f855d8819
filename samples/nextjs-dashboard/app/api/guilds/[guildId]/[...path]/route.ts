// The bot's plugin API, proxied by @liveupdates/client/next: the browser calls /api/guilds/{guildId}/… on this origin
// (no CORS, the session cookie comes along); the handler checks that the signed-in user may open that guild (the
// `guilds` of their session token, the same list the WebSocket server enforces), refuses `.`/`..` path segments, adds
// the acting user (`_dashboardUserId`), and forwards to the bot host, which is not exposed to browsers. A plain
// `rewrites()` entry could not check access. See README.md.
import { getToken } from "next-auth/jwt";
import { createGuildApiProxy } from "@liveupdates/client/next";
import { authSecret } from "@/lib/auth";
import { botApiUrl } from "@/lib/session";

export const dynamic = "force-dynamic";

export const { GET, POST, PUT, PATCH, DELETE } = createGuildApiProxy({ getToken, secret: authSecret, apiUrl: botApiUrl });
