// Writes tokens.json: dashboard session tokens made by the real packages' own encode functions
// (next-auth/jwt for NextAuth v4, @auth/core/jwt for Auth.js v5, jose's SignJWT for HS256), at a
// fixed issue time so that iat/exp never change. IVs and jti are random, so the token strings differ
// on every run while everything the tests assert stays the same.
//
// Regenerate: npm ci && node generate.mjs
import { writeFileSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { encode as encodeV4, decode as decodeV4 } from "next-auth/jwt";
import { encode as encodeV5, decode as decodeV5 } from "@auth/core/jwt";
import { SignJWT, jwtVerify, decodeProtectedHeader } from "jose";

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const pkg = (name) => JSON.parse(readFileSync(here(`node_modules/${name}/package.json`), "utf8")).version;

// The moment every token is issued at, and the moment the tests validate at.
const ISSUED_AT = Date.parse("2026-01-15T12:00:00.000Z");

// Two fixed secrets shaped like `openssl rand -base64 32` output: the current one and a rotation secret
// (Auth.js's AUTH_SECRET_1 — with it set, Auth.js encrypts new tokens with it).
const SECRETS = [
  "Hs2Rk7Yk0cJ9yq0kq1m8oV3m0mYpD4oXy6T1mS3bQ9E=",
  "q8Zp2Vn4Lx6Tb0Rc3We5Yu7Io9Pa1Sd2Fg4Hj6Kl8Zx0=",
];
const COOKIE_NAMES = ["authjs.session-token", "__Secure-authjs.session-token"];
const USER_ID_CLAIM = "discordId";
const DISCORD_ID = "123456789012345678";
const SUB = "6f1c2b0e-9a4d-4c3e-8b7a-2d5e9f0a1b3c"; // Auth.js v5 puts a random UUID in `sub`
const GUILDS = ["111111111111111111", "222222222222222222"];
const MAX_AGE = 30 * 24 * 60 * 60; // both packages' default session maxAge

// The session claims a dashboard's jwt callback typically produces: the default name/email/picture/sub
// plus the Discord id copied from the OAuth profile.
const claims = () => ({
  name: "Test User",
  email: "test@example.com",
  picture: "https://cdn.discordapp.com/avatars/123456789012345678/abc.png",
  sub: SUB,
  [USER_ID_CLAIM]: DISCORD_ID,
  guilds: GUILDS,
});

// Both packages (and jose) read the clock with Date.now() and `new Date()`; pin both.
const RealDate = Date;
function withClock(epochMs, fn) {
  class FixedDate extends RealDate {
    constructor(...args) {
      super(...(args.length === 0 ? [epochMs] : args));
    }
    static now() {
      return epochMs;
    }
  }
  globalThis.Date = FixedDate;
  return Promise.resolve()
    .then(fn)
    .finally(() => {
      globalThis.Date = RealDate;
    });
}

const hs256 = (secret, maxAge) =>
  new SignJWT(claims())
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + maxAge)
    .sign(new TextEncoder().encode(secret));

// name, format, secret index, cookie name (Auth.js salt), seconds before ISSUED_AT it is issued, maxAge, expected
const cases = [
  ["nextauth-v4-valid", "nextauth-v4", 0, null, 0, MAX_AGE, "valid"],
  ["nextauth-v4-second-secret", "nextauth-v4", 1, null, 0, MAX_AGE, "valid"],
  ["nextauth-v4-expired", "nextauth-v4", 0, null, 7200, 3600, "TOKEN_EXPIRED"],
  ["authjs-v5-valid", "authjs-v5", 0, COOKIE_NAMES[0], 0, MAX_AGE, "valid"],
  ["authjs-v5-secure-cookie", "authjs-v5", 0, COOKIE_NAMES[1], 0, MAX_AGE, "valid"],
  ["authjs-v5-second-secret", "authjs-v5", 1, COOKIE_NAMES[0], 0, MAX_AGE, "valid"],
  ["authjs-v5-expired", "authjs-v5", 0, COOKIE_NAMES[0], 7200, 3600, "TOKEN_EXPIRED"],
  ["hs256-valid", "hs256", 0, null, 0, MAX_AGE, "valid"],
  ["hs256-second-secret", "hs256", 1, null, 0, MAX_AGE, "valid"],
  ["hs256-expired", "hs256", 0, null, 7200, 3600, "TOKEN_EXPIRED"],
];

const tokens = [];
for (const [name, format, secretIndex, cookieName, issuedBefore, maxAge, expected] of cases) {
  const secret = SECRETS[secretIndex];
  const issuedAt = ISSUED_AT - issuedBefore * 1000;
  const token = await withClock(issuedAt, () => {
    switch (format) {
      case "nextauth-v4":
        return encodeV4({ token: claims(), secret, maxAge });
      case "authjs-v5":
        // Auth.js passes the session cookie name as the salt; with rotation it passes every secret and
        // encodes with the first, so the second-secret token is made as [AUTH_SECRET_1, AUTH_SECRET].
        return encodeV5({
          token: claims(),
          secret: secretIndex === 0 ? secret : [secret, SECRETS[0]],
          salt: cookieName,
          maxAge,
        });
      case "hs256":
        return hs256(secret, maxAge);
    }
  });

  // Self-check with the packages' own decoders, at the issue time, so a bad fixture fails here.
  const decoded = await withClock(issuedAt, async () => {
    switch (format) {
      case "nextauth-v4":
        return decodeV4({ token, secret });
      case "authjs-v5":
        return decodeV5({ token, secret: SECRETS, salt: cookieName });
      case "hs256":
        return (await jwtVerify(token, new TextEncoder().encode(secret), { algorithms: ["HS256"] })).payload;
    }
  });
  if (decoded?.[USER_ID_CLAIM] !== DISCORD_ID || decoded.sub !== SUB) {
    throw new Error(`${name}: the package's own decoder did not return the claims`);
  }

  tokens.push({
    name,
    format,
    header: decodeProtectedHeader(token),
    secretIndex,
    cookieName,
    expected,
    issuedAt: Math.floor(issuedAt / 1000),
    expiresAt: decoded.exp,
    token,
  });
}

const fixture = {
  comment: "Generated by generate.mjs (npm ci && node generate.mjs); do not edit by hand.",
  packages: { "next-auth": pkg("next-auth"), "@auth/core": pkg("@auth/core"), jose: pkg("jose") },
  now: new RealDate(ISSUED_AT).toISOString(),
  secrets: SECRETS,
  cookieNames: COOKIE_NAMES,
  userIdClaim: USER_ID_CLAIM,
  discordId: DISCORD_ID,
  sub: SUB,
  guilds: GUILDS,
  tokens,
};
writeFileSync(here("tokens.json"), JSON.stringify(fixture, null, 2) + "\n");
console.log(`tokens.json: ${tokens.length} tokens (${Object.entries(fixture.packages).map(([k, v]) => `${k}@${v}`).join(", ")})`);
