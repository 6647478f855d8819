"use client";
// Moderation: the guild's config and its auto-mod rules, fetched then kept current by events.
import { useState, type FormEvent } from "react";
import { useGuildId, useRealtimeData } from "@liveupdates/client/react";
import { LiveEvents, type ModerationRule } from "@liveupdates/client";
import { api } from "../../_components/api";

const M = LiveEvents.Moderation;
type Config = { automod?: boolean; maxMentions?: number; [key: string]: unknown };

function ConfigPanel({ guildId }: { guildId: string }) {
  const { data, loading, error } = useRealtimeData<Config>({
    path: "moderation/config",
    events: [M.ConfigUpdated],
    onEvent: (event, data, _current) => (event === M.ConfigUpdated ? (data.config as Config) : "refetch"),
  });
  const [busy, setBusy] = useState(false);
  const save = async (patch: Partial<Config>) => {
    setBusy(true);
    try {
      await api(guildId, "PUT", "moderation/config", { ...data, ...patch });
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="panel" data-testid="config">
      <h2>Config</h2>
      {error ? <p className="error">{error.message}</p> : loading && !data ? <p className="muted">Loading…</p> : null}
      {data && (
        <div className="row">
          <label>
            <input
              type="checkbox"
              data-testid="automod"
              checked={data.automod === true}
              disabled={busy}
              onChange={(e) => void save({ automod: e.target.checked })}
            />{" "}
            Auto-mod enabled
          </label>
          <span className="muted" data-testid="max-mentions">max mentions: {String(data.maxMentions ?? "–")}</span>
        </div>
      )}
    </section>
  );
}

function RulesPanel({ guildId }: { guildId: string }) {
  const { data: rules, loading, error } = useRealtimeData<ModerationRule[]>({
    path: "moderation/rules",
    events: [M.RuleCreated, M.RuleUpdated, M.RuleDeleted],
    onEvent: (event, data, current) => {
      if (event === M.RuleDeleted) return current.filter((r) => r.id !== data.ruleId);
      if (event !== M.RuleCreated && event !== M.RuleUpdated) return "refetch";
      const rule = data.rule;
      return [...current.filter((r) => r.id !== rule.id), rule].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    },
  });
  const [name, setName] = useState("");
  const [pattern, setPattern] = useState("");
  const add = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return;
    await api(guildId, "POST", "moderation/rules", { name: name.trim(), type: "keyword", pattern: pattern || name.trim(), action: "warn" });
    setName("");
    setPattern("");
  };
  return (
    <section className="panel" data-testid="rules">
      <h2>Auto-mod rules</h2>
      {error ? <p className="error">{error.message}</p> : loading && !rules ? <p className="muted">Loading…</p> : null}
      <ul className="list">
        {(rules ?? []).map((r) => (
          <li key={r.id} data-testid="rule" data-enabled={r.enabled}>
            <span className="name">{r.name}</span>
            <span className="muted small">
              {r.type}
              {r.pattern ? ` “${r.pattern}”` : ""} → {r.action}
            </span>
            <span className="spacer" />
            <button type="button" className="secondary" onClick={() => void api(guildId, "PATCH", `moderation/rules/${r.id}`, { enabled: !r.enabled })}>
              {r.enabled ? "Disable" : "Enable"}
            </button>
            <button type="button" className="danger" onClick={() => void api(guildId, "DELETE", `moderation/rules/${r.id}`)}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      <form className="row" onSubmit={(e) => void add(e)}>
        <input placeholder="Rule name" value={name} onChange={(e) => setName(e.target.value)} data-testid="rule-name" />
        <input placeholder="Keyword" value={pattern} onChange={(e) => setPattern(e.target.value)} />
        <button type="submit" data-testid="add-rule">Add rule</button>
      </form>
    </section>
  );
}

export default function ModerationPage() {
  const guildId = useGuildId();
  if (!guildId) return null;
  return (
    <div className="grid">
      <ConfigPanel guildId={guildId} />
      <RulesPanel guildId={guildId} />
    </div>
  );
}
