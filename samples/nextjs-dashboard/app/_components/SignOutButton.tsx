"use client";
import { signOut } from "next-auth/react";

/** Ends the session (the cookie goes, /api/live-token answers 401) and leaves the page, which closes its WebSocket. */
export function SignOutButton() {
  return (
    <button type="button" className="secondary" data-testid="sign-out" onClick={() => void signOut({ callbackUrl: "/" })}>
      Sign out
    </button>
  );
}
