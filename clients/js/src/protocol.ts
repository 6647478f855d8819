// The wire protocol as the client sees it (the README's "Protocol" section).
import type { LiveEventName } from "../live-events.js";

/** A stable error code of the server's `error` message (see the README's error codes). */
export type ErrorCode =
  | "INVALID_JSON" | "INVALID_MESSAGE" | "UNKNOWN_TYPE" | "UNSUPPORTED_FRAME" | "AUTH_REQUIRED" | "AUTH_TIMEOUT"
  | "TOKEN_MISSING" | "TOKEN_INVALID" | "TOKEN_WRONG_AUDIENCE" | "TOKEN_EXPIRED" | "TOKEN_NOT_YET_VALID" | "TOKEN_USER_MISSING"
  | "TOO_MANY_AUTH_ATTEMPTS" | "INVALID_GUILD_ID" | "FORBIDDEN" | "RATE_LIMITED" | "TOO_MANY_GUILDS"
  | "MESSAGE_TOO_LARGE" | "INTERNAL_ERROR" | (string & {});

/** One message from the server, loosely typed: every field is checked before use. */
export interface ServerMessage {
  event?: string;
  type?: string;
  guildId?: string;
  data?: any;
  seq?: number;
  epoch?: string;
  timestamp?: number;
}

/** An event envelope of a plugin event. */
export interface Envelope {
  event: LiveEventName;
  guildId: string;
  data: unknown;
  timestamp: number;
  seq?: number;
  epoch?: string;
}

/**
 * Splits a text frame into messages. With `batch` confirmed by the server a frame holds one or more messages separated
 * by "\n"; without it a frame is one message (which may then contain newlines, e.g. indented JSON), but a frame that
 * does not parse whole is still read line by line. Frames that are not JSON are skipped (returned as nothing).
 */
export function parseFrame(raw: unknown, batch: boolean): ServerMessage[] {
  const text = typeof raw === "string" ? raw : String(raw);
  if (!batch) {
    try {
      return [JSON.parse(text)];
    } catch {
      if (!text.includes("\n")) return [];
    }
  }
  const messages: ServerMessage[] = [];
  for (const line of text.split("\n")) {
    if (line === "") continue;
    try {
      messages.push(JSON.parse(line));
    } catch {
      // not JSON: skipped
    }
  }
  return messages;
}
