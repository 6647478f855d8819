// Home: sign in, or pick a guild.
import Link from "next/link";
import { getServerSession } from "next-auth";
import { authOptions } from "@/lib/auth";
import { GUILD_NAMES } from "@/lib/users";
import { SignOutButton } from "./_components/SignOutButton";

export const dynamic = "force-dynamic";

export default async function Home() {
  const session = await getServerSession(authOptions);
  if (!session) {
    return (
      <main className="center">
        <h1>LiveUpdates dashboard</h1>
        <p>Sign in to manage your guilds. Sample users: ada (guilds A and B), grace (A), linus (B); password “live”.</p>
        <a className="button" href="/api/auth/signin?callbackUrl=%2F" data-testid="sign-in">Sign in</a>
      </main>
    );
  }
  return (
    <main className="center">
      <h1>Hello, {session.user.name}</h1>
      <p className="muted">Discord id {session.user.id}</p>
      <ul className="guilds" data-testid="guilds">
        {session.guilds.map((g) => (
          <li key={g}>
            <Link href={`/guilds/${g}`}>{GUILD_NAMES[g] ?? g}</Link>
          </li>
        ))}
      </ul>
      <SignOutButton />
    </main>
  );
}
