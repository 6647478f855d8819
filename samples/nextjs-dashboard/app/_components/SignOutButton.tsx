"use client";
import { signOut } from "next-auth/react";
import { useLiveUpdates } from "@liveupdates/client/react";

/**
 * Signing out ends the live connection first (the socket is closed, not left to the page unload), then the session
 * (the cookie goes, so /api/live-token answers 401 and no new socket can authenticate).
 */
export function SignOutButton() {
  const { client } = useLiveUpdates(); // null outside the provider (the home page)
  return (
    <button
      type="button"
      className="secondary"
      data-testid="sign-out"
      onClick={() => {
        client?.close();
        void signOut({ callbackUrl: "/" });
      }}
    >
      Sign out
    </button>
  );
}
