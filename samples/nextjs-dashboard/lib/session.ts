// Where the bot host is, as this server and the browser reach it. The session itself is read by
// @liveupdates/client/next's route handlers (app/api/live-token, app/api/guilds/…) with next-auth's getToken.

/** The bot host's HTTP API (server side only). */
export const botApiUrl = process.env.LIVEUPDATES_API_URL ?? "http://127.0.0.1:3001";

/** The bot host's WebSocket server as the browser reaches it. */
export const liveWsUrl = process.env.LIVEUPDATES_WS_URL ?? process.env.NEXT_PUBLIC_WS_URL ?? "ws://localhost:3002"; // NEXT_PUBLIC_WS_URL: the variable of the deployment example
