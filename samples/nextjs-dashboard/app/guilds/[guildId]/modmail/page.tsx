"use client";
// Modmail: open conversations, claimed and closed live by whoever acts on them.
import { useGuildId, useRealtimeData } from "@liveupdates/client/react";
import { LiveEvents, type ModmailConversation } from "@liveupdates/client";
import { api } from "../../../_components/api";

const MM = LiveEvents.Modmail;

export default function ModmailPage() {
  const guildId = useGuildId();
  const { data, loading, error } = useRealtimeData<ModmailConversation[]>({
    path: "modmail/conversations",
    events: [MM.ConversationCreated, MM.MessageReceived, MM.MessageSent, MM.ConversationClaimed, MM.ConversationClosed],
    onEvent: (event, data, list) => {
      if (event !== MM.ConversationCreated && event !== MM.MessageReceived && event !== MM.MessageSent && event !== MM.ConversationClaimed && event !== MM.ConversationClosed) {
        return "refetch";
      }
      const conversation = data.conversation;
      if (event === MM.ConversationClosed) return list.filter((c) => c.id !== conversation.id);
      return [...list.filter((c) => c.id !== conversation.id), conversation].sort((a, b) => b.lastMessageAt.localeCompare(a.lastMessageAt));
    },
  });
  if (!guildId) return null;
  return (
    <section className="panel" data-testid="modmail">
      <h2>Modmail</h2>
      {error ? <p className="error">{error.message}</p> : loading && !data ? <p className="muted">Loading…</p> : null}
      <ul className="list">
        {(data ?? []).map((c) => (
          <li key={c.id} data-testid="conversation" data-status={c.status}>
            <span className="name">{c.userName}</span>
            <span className="muted small">{c.lastMessagePreview}</span>
            <span className="spacer" />
            <span className="small">{c.status === "claimed" ? `claimed by ${c.claimedBy}` : c.status}</span>
            {c.status === "open" && (
              <button type="button" className="secondary" onClick={() => void api(guildId, "POST", `modmail/conversations/${c.id}/claim`, {})}>
                Claim
              </button>
            )}
            <button type="button" className="danger" onClick={() => void api(guildId, "POST", `modmail/conversations/${c.id}/close`, { reason: "resolved" })}>
              Close
            </button>
          </li>
        ))}
      </ul>
      {data && data.length === 0 && <p className="muted">No open conversations.</p>}
    </section>
  );
}
