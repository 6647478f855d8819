// The sample's sign-in users (Credentials provider, for local use only). Their ids are Discord user ids and their
// guilds the guilds they administer, as a real dashboard would learn from Discord (see README: the Discord provider).
export const GUILD_A = "123456789012345678";
export const GUILD_B = "876543210987654321";

export interface SampleUser {
  id: string;
  name: string;
  guilds: string[];
}

/** username → user. Every sample user's password is "live". */
export const SAMPLE_USERS: Record<string, SampleUser> = {
  ada: { id: "100000000000000001", name: "ada", guilds: [GUILD_A, GUILD_B] },
  grace: { id: "100000000000000002", name: "grace", guilds: [GUILD_A] },
  linus: { id: "100000000000000003", name: "linus", guilds: [GUILD_B] },
};

export const SAMPLE_PASSWORD = "live";

export const GUILD_NAMES: Record<string, string> = { [GUILD_A]: "Guild A", [GUILD_B]: "Guild B" };
