// The signed-in frame: the LiveUpdates provider (one WebSocket per tab), the connection indicator, the guild switcher.
// A Server Component, as in the README's guide: the provider's props (url, tokenUrl) are plain strings.
import type { ReactNode } from "react";
import Link from "next/link";
import { ConnectionIndicator, LiveUpdatesProvider } from "@liveupdates/client/react";
import { SignOutButton } from "./SignOutButton";

const GUILD_NAMES: Record<string, string> = { "123456789012345678": "Guild A", "876543210987654321": "Guild B" };

export function LiveShell({ wsUrl, userName, guilds, children }: { wsUrl: string; userName: string; guilds: string[]; children: ReactNode }) {
  return (
    // tokenUrl: a connection token for the WebSocket from app/api/live-token, fresh on every (re)connect and before each
    // token expires (renewed on the same socket); a 401 once signed out fails the authentication and the client backs off.
    <LiveUpdatesProvider url={wsUrl} tokenUrl="/api/live-token">
      <header className="top">
        <Link href="/" className="brand">LiveUpdates</Link>
        <nav className="guild-switch">
          {guilds.map((g) => (
            <Link key={g} href={`/guilds/${g}`}>{GUILD_NAMES[g] ?? g}</Link>
          ))}
        </nav>
        <span className="spacer" />
        <ConnectionIndicator />
        <span className="muted" data-testid="user">{userName}</span>
        <SignOutButton />
      </header>
      {children}
    </LiveUpdatesProvider>
  );
}
