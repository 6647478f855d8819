"use client";
// The infractions feed: the latest 25, newest first; the bot's auto-mod adds to it live (and the guild shell toasts).
import { useRealtimeData } from "@liveupdates/client/react";
import { LiveEvents, type Infraction } from "@liveupdates/client";

export default function InfractionsPage() {
  const { data, loading, error } = useRealtimeData<Infraction[]>({
    path: "moderation/infractions?limit=25",
    events: [LiveEvents.Moderation.InfractionCreated],
    onEvent: (event, data, list) =>
      event === LiveEvents.Moderation.InfractionCreated ? [data.infraction, ...list.filter((i) => i.id !== data.infraction.id)].slice(0, 25) : "refetch",
  });
  return (
    <section className="panel" data-testid="infractions">
      <h2>Infractions</h2>
      {error ? <p className="error">{error.message}</p> : loading && !data ? <p className="muted">Loading…</p> : null}
      <ul className="list">
        {(data ?? []).map((i) => (
          <li key={i.id} data-testid="infraction">
            <span className="name">{i.type}</span> <span>{i.userName}</span>
            <span className="muted small">{i.reason}</span>
            <span className="spacer" />
            <span className="muted small">{i.source}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
