import type { ReactNode } from "react";
import { GUILD_NAMES } from "@/lib/users";
import { GuildShell } from "../../_components/GuildShell";

export default async function GuildLayout({ children, params }: { children: ReactNode; params: Promise<{ guildId: string }> }) {
  const { guildId } = await params;
  return (
    <GuildShell guildId={guildId} name={GUILD_NAMES[guildId] ?? "Guild"}>
      {children}
    </GuildShell>
  );
}
