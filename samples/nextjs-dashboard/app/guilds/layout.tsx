// Every guild page shares one LiveUpdates connection (one per tab): switching guilds keeps the socket.
import type { ReactNode } from "react";
import { redirect } from "next/navigation";
import { getServerSession } from "next-auth";
import { authOptions } from "@/lib/auth";
import { liveWsUrl } from "@/lib/session";
import { LiveShell } from "../_components/LiveShell";

export const dynamic = "force-dynamic";

export default async function GuildsLayout({ children }: { children: ReactNode }) {
  const session = await getServerSession(authOptions);
  if (!session) redirect("/api/auth/signin?callbackUrl=%2F");
  return (
    <LiveShell wsUrl={liveWsUrl} userName={session.user.name ?? session.user.id} guilds={session.guilds}>
      {children}
    </LiveShell>
  );
}
