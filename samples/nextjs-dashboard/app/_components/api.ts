// Writes go through this dashboard's proxy of the bot API (app/api/guilds/…); every open page, this one included,
// then updates from the event the bot broadcasts after the write.
export async function api<T = unknown>(guildId: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api/guilds/${guildId}/${path}`, {
    method,
    headers: body === undefined ? undefined : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json().catch(() => null);
  if (!response.ok || !json?.success) throw new Error(json?.error?.message ?? `HTTP ${response.status}`);
  return json.data as T;
}
