// Reading the session on this server: the decoded token (who, which guilds) and its raw value (for the WebSocket).
import { getToken } from "next-auth/jwt";
import type { NextRequest } from "next/server";
import { authSecret } from "./auth";

const secureCookie = (process.env.NEXTAUTH_URL ?? "").startsWith("https://");

/** The signed-in user's decoded session token, or null. */
export async function sessionToken(req: NextRequest) {
  return getToken({ req, secret: authSecret, secureCookie });
}

/** The session cookie's value as the browser holds it (the encrypted JWE the bot host decrypts), or null. */
export async function rawSessionToken(req: NextRequest): Promise<string | null> {
  const decoded = await sessionToken(req); // only a session that is valid now is handed out
  if (!decoded) return null;
  const raw = await getToken({ req, secret: authSecret, secureCookie, raw: true });
  return raw || null;
}

/** The bot host's HTTP API (server side only). */
export const botApiUrl = process.env.LIVEUPDATES_API_URL ?? "http://127.0.0.1:3001";

/** The bot host's WebSocket server as the browser reaches it. */
export const liveWsUrl = process.env.LIVEUPDATES_WS_URL ?? process.env.NEXT_PUBLIC_WS_URL ?? "ws://localhost:3002"; // NEXT_PUBLIC_WS_URL: the variable of the deployment example
