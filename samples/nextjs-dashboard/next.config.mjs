// The dashboard talks to two things of the bot host: its WebSocket server (from the browser, NEXT_PUBLIC-free: the
// URL is read at request time from LIVEUPDATES_WS_URL and handed to the page) and its HTTP API (from this server
// only, through app/api/guilds/[guildId]/[...path], which checks the session's guilds first). See README.md.
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** @type {import("next").NextConfig} */
const nextConfig = {
  // One npm workspace for the repository (the client package is a sibling): its root is where the lockfile is.
  turbopack: { root },
  outputFileTracingRoot: root,
  reactStrictMode: true,
  poweredByHeader: false,
};

export default nextConfig;
