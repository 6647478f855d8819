"use client";
// The signed-in frame: the LiveUpdates provider (one WebSocket per tab), the connection indicator, the guild switcher.
import type { ReactNode } from "react";
import Link from "next/link";
import { ConnectionIndicator, LiveUpdatesProvider } from "@liveupdates/client/react";
import { SignOutButton } from "./SignOutButton";

/** The session token for the WebSocket, fresh on every (re)connect; throws when signed out (the client backs off). */
async function getLiveToken(): Promise<string> {
  const response = await fetch("/api/live-token", { cache: "no-store" });
  if (!response.ok) throw new Error(`/api/live-token answered ${response.status}`);
  return (await response.json()).token;
}

const GUILD_NAMES: Record<string, string> = { "123456789012345678": "Guild A", "876543210987654321": "Guild B" };

export function LiveShell({ wsUrl, userName, guilds, children }: { wsUrl: string; userName: string; guilds: string[]; children: ReactNode }) {
  return (
    <LiveUpdatesProvider url={wsUrl} getToken={getLiveToken}>
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
