// Mints the signed-in user a connection token for the WebSocket: @liveupdates/client/next's token route reads the
// session (next-auth's getToken, AUTH_SECRET) and signs a 5-minute token with LIVEUPDATES_TOKEN_KEY, the key the bot
// host checks it with — 200 { token, expiresAt } while the session is valid, 401 { error } once signed out. The
// session token itself never leaves this server, and the bot never gets AUTH_SECRET.
// The provider calls this on every (re)connect and before each token expires, so a signed-out user loses the socket
// within one token lifetime.
import { getToken } from "next-auth/jwt";
import { createLiveTokenRoute } from "@liveupdates/client/next";
import { authSecret } from "@/lib/auth";

export const dynamic = "force-dynamic";

export const { GET } = createLiveTokenRoute({ getToken, secret: authSecret });
