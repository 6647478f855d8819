// Hands the signed-in user the token for the WebSocket (the session cookie is httpOnly, so the page cannot read it):
// @liveupdates/client/next's token route — 200 { token } while the session is valid, 401 { error } once signed out.
// The LiveUpdates server decrypts the session token itself (NextAuth v4 JWE, AUTH_SECRET shared with the bot host).
// The provider calls this on every (re)connect, so a renewed session is picked up and a signed-out user gets 401.
import { getToken } from "next-auth/jwt";
import { createLiveTokenRoute } from "@liveupdates/client/next";
import { authSecret } from "@/lib/auth";

export const dynamic = "force-dynamic";

export const { GET } = createLiveTokenRoute({ getToken, secret: authSecret });
