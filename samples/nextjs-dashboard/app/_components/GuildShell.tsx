"use client";
// One guild: joins it for as long as any of its pages is open, shows toasts for new infractions (the seed's section
// 6.7), and says so when the bot refuses this user the guild.
import { useState, type ReactNode } from "react";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { LiveGuild, useGuildSubscription, useRealtimeEvent } from "@liveupdates/client/react";
import { LiveEvents } from "@liveupdates/client";

interface Toast {
  id: string;
  title: string;
  body: string;
}

function Toasts() {
  const [toasts, setToasts] = useState<Toast[]>([]);
  useRealtimeEvent(LiveEvents.Moderation.InfractionCreated, ({ infraction }) => {
    const toast = { id: infraction.id, title: `New infraction: ${infraction.type} for ${infraction.userName}`, body: infraction.reason };
    setToasts((t) => [...t.filter((x) => x.id !== toast.id), toast].slice(-4));
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== toast.id)), 8000);
  });
  return (
    <div className="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} className="toast" data-testid="toast">
          <strong>{t.title}</strong>
          <span>{t.body}</span>
        </div>
      ))}
    </div>
  );
}

function AccessError() {
  const { state, error } = useGuildSubscription(); // the guild of the <LiveGuild> above
  if (state !== "refused" || !error) return null;
  return (
    <p className="error" data-testid="access-error">
      The bot refused live updates for this guild ({error.code}).
    </p>
  );
}

export function GuildShell({ guildId, name, children }: { guildId: string; name: string; children: ReactNode }) {
  const pathname = usePathname();
  const tabs = [
    ["", "Moderation"],
    ["/infractions", "Infractions"],
    ["/modmail", "Modmail"],
  ] as const;
  return (
    <LiveGuild guildId={guildId}>
      <div className="guild">
        <h1>
          {name} <span className="muted small">{guildId}</span>
        </h1>
        <nav className="tabs">
          {tabs.map(([href, label]) => {
            const to = `/guilds/${guildId}${href}`;
            return (
              <Link key={href} href={to} className={pathname === to ? "active" : undefined}>
                {label}
              </Link>
            );
          })}
        </nav>
        <AccessError />
        {children}
      </div>
      <Toasts />
    </LiveGuild>
  );
}
