// NextAuth (v4) for the sample dashboard: JWT sessions, the Credentials provider for local use, and the callbacks
// that put into the session what the connection tokens carry: the Discord id (`discordId`, and `sub`) and the guilds
// the user may open (`guilds`, read by the sample host's TokenGuildsMemberSource). The session stays on this server:
// app/api/live-token mints the browser short-lived connection tokens from it (LIVEUPDATES_TOKEN_KEY); AUTH_SECRET is
// this app's alone.
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
// import DiscordProvider from "next-auth/providers/discord";
import { SAMPLE_PASSWORD, SAMPLE_USERS } from "./users";

declare module "next-auth" {
  interface Session {
    user: { id: string; name?: string | null; email?: string | null; image?: string | null };
    guilds: string[];
  }
  interface User {
    guilds?: string[];
  }
}
declare module "next-auth/jwt" {
  interface JWT {
    discordId?: string;
    guilds?: string[];
  }
}

export const authSecret = process.env.AUTH_SECRET ?? process.env.NEXTAUTH_SECRET;

export const authOptions: NextAuthOptions = {
  secret: authSecret,
  session: { strategy: "jwt", maxAge: 8 * 60 * 60 },
  providers: [
    // Local use. In production swap it for Discord (scope "identify guilds"), e.g.
    //   DiscordProvider({ clientId: process.env.DISCORD_CLIENT_ID!, clientSecret: process.env.DISCORD_CLIENT_SECRET!,
    //                     authorization: { params: { scope: "identify guilds" } } }),
    // and fill `guilds` in the jwt callback from the bot (the guilds it shares with the user where they may manage it).
    CredentialsProvider({
      name: "sample users",
      credentials: {
        username: { label: "Username", type: "text", placeholder: "ada, grace or linus" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials) {
        const user = credentials?.username ? SAMPLE_USERS[credentials.username.trim().toLowerCase()] : undefined;
        if (!user || credentials?.password !== SAMPLE_PASSWORD) return null;
        return { id: user.id, name: user.name, guilds: user.guilds };
      },
    }),
  ],
  callbacks: {
    async jwt({ token, user, account }) {
      if (user) {
        // Sign-in: copy the Discord id into the token (Discord provider: account.providerAccountId is the Discord id).
        const discordId = account?.provider === "discord" ? account.providerAccountId : user.id;
        token.sub = discordId;
        token.discordId = discordId;
        token.guilds = user.guilds ?? [];
      }
      return token;
    },
    async session({ session, token }) {
      session.user = { ...session.user, id: token.discordId ?? token.sub ?? "" };
      session.guilds = token.guilds ?? [];
      return session;
    },
  },
};
