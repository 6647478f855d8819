// Hands the signed-in user their session token for the WebSocket. The session cookie is httpOnly, so the page cannot
// read it; the LiveUpdates server decrypts this value itself (NextAuth v4 JWE, AUTH_SECRET shared with the bot host).
// The provider calls this on every (re)connect, so a renewed session is picked up and a signed-out user gets 401.
import type { NextRequest } from "next/server";
import { authSecret } from "@/lib/auth";
import { rawSessionToken } from "@/lib/session";

export const dynamic = "force-dynamic";

export async function GET(req: NextRequest) {
  if (!authSecret) {
    // Without a shared secret next-auth makes one up that the bot host cannot know: say so instead of failing later.
    return Response.json({ error: "AUTH_SECRET is not set: set the same value for this app and the bot host" }, { status: 500 });
  }
  const token = await rawSessionToken(req);
  if (!token) return Response.json({ error: "not signed in" }, { status: 401, headers: { "Cache-Control": "no-store" } });
  return Response.json({ token }, { headers: { "Cache-Control": "no-store" } });
}
