// The fetch-then-patch view (the seed's useRealtimeData without React): fetch a guild's data over HTTP, keep it
// current from events, and refetch whenever the event stream could not be recovered.
import type { LiveEventName } from "../live-events.js";

/** Fetches a path of a guild's API and returns its data. */
export type FetchData = (guildId: string, path: string) => Promise<any>;

/** Where and how the default fetchData reads the bot's HTTP API. */
export interface ApiOptions {
  /** Base URL, e.g. `http://127.0.0.1:3001`. Default: "" (the page's own origin). */
  base?: string;
  /** The URL of `path` of a guild. Default: `${base}/api/guilds/${guildId}/${path}`. */
  url?: (guildId: string, path: string, base: string) => string;
  /** Reads the response. Default: the bot's `{ success, data }` envelope (throws unless success is true). */
  unwrap?: (body: unknown, response: Response) => unknown;
  /** Extra request options (headers, credentials). */
  init?: RequestInit;
}

export interface RealtimeDataOptions<T> {
  guildId: string;
  /** API path relative to the guild, e.g. "moderation/rules" (→ /api/guilds/{guildId}/moderation/rules by default). */
  path: string;
  /** Events of the guild that change this data. */
  events: readonly LiveEventName[];
  /** Patches the data from an event: return the new data, or "refetch". Without it every event refetches. */
  onEvent?: (event: LiveEventName, data: any, current: T) => T | "refetch";
  /** Called whenever data, loading or error change. */
  onChange?: (state: RealtimeDataState<T>) => void;
  /** Overrides the client's fetchData for this data. */
  fetchData?: FetchData;
  /**
   * Data fetched already (e.g. by a Server Component): shown at once, and not fetched again on start. It is
   * refetched once when the guild's subscription is first confirmed (events between that fetch and the subscription
   * would be lost otherwise), with `loading` true meanwhile and the data kept.
   */
  initialData?: T;
}

export interface RealtimeDataState<T> {
  data: T | null;
  loading: boolean;
  /** The last fetch's failure (cleared by the next successful fetch), else null. */
  error: RealtimeDataError | null;
}

/**
 * A failed fetch of realtimeData / useRealtimeData: `message` (the API's `error.message`, else `HTTP 502 for
 * moderation/rules`), the `guildId` and `path` it was for, the HTTP `status` when the API answered, and the
 * original error as `cause`. `useRealtimeData({ throwOnError: true })` throws it to the nearest error boundary.
 */
export class RealtimeDataError extends Error {
  readonly guildId: string;
  readonly path: string;
  /** The HTTP status of a non-2xx answer, else undefined (network failure, a custom fetchData's error). */
  readonly status: number | undefined;
  constructor(message: string, guildId: string, path: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "RealtimeDataError";
    this.guildId = guildId;
    this.path = path;
    this.status = options.status;
  }
}

/** `err` as a RealtimeDataError of this guild and path (kept when it is one already). */
function toRealtimeDataError(err: unknown, guildId: string, path: string): RealtimeDataError {
  if (err instanceof RealtimeDataError && err.guildId === guildId && err.path === path) return err;
  const status = err instanceof RealtimeDataError ? err.status : undefined;
  return new RealtimeDataError(err instanceof Error ? err.message : String(err), guildId, path, { cause: err, status });
}

export interface RealtimeData<T> extends Readonly<RealtimeDataState<T>> {
  /** How many fetches were started so far. */
  readonly fetchCount: number;
  /** Fetches again (coalesced with one already running). */
  refetch(): Promise<void>;
  /** Stops listening and leaves the guild (once). */
  stop(): void;
}

/** What realtimeData needs from the client. */
export interface RealtimeHost {
  joinGuild(guildId: string): () => void;
  isSubscribed(guildId: string): boolean;
  on(guildId: string, event: string, handler: (data: any, envelope: any) => void): () => void;
  onSync(guildId: string, handler: (info: { recovered: boolean | undefined }) => void): () => void;
}

/** Reads `{ success, data }` from the bot's plugin API, as the seed's dashboard fetchApi does. */
export function unwrapSuccessData(body: unknown, response: Response): unknown {
  const b = body as { success?: unknown; data?: unknown; error?: { message?: string } } | null;
  if (!response.ok || !b || b.success !== true) throw new Error(b?.error?.message ?? `HTTP ${response.status}`);
  return b.data;
}

export function defaultFetchData(fetchImpl: typeof fetch, api: ApiOptions = {}): FetchData {
  const base = api.base ?? "";
  const url = api.url ?? ((guildId: string, path: string, b: string) => `${b}/api/guilds/${encodeURIComponent(guildId)}/${path}`);
  const unwrap = api.unwrap ?? unwrapSuccessData;
  return async (guildId, path) => {
    const headers = { Accept: "application/json", ...(api.init?.headers as Record<string, string> | undefined) };
    const response = await fetchImpl(url(guildId, path, base), { cache: "no-store", ...api.init, headers });
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      // not JSON: unwrap reports it
    }
    try {
      return await unwrap(body, response);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new RealtimeDataError(message.startsWith("HTTP ") ? `${message} for ${path}` : message, guildId, path, {
        cause: err,
        status: response.ok ? undefined : response.status,
      });
    }
  };
}

/**
 * Joins the guild, fetches `path`, then on each of `events` either refetches or patches through onEvent. Refetches
 * whenever a subscription could not recover (`recovered: false`, or the server's `refetch`), and once when the first
 * subscription is confirmed if its first fetch started before (events in between would be lost otherwise). A refetch
 * asked for while one is running runs once more after it, so no event is lost to an older response.
 */
export function realtimeData<T>(host: RealtimeHost, fetcher: FetchData, options: RealtimeDataOptions<T>): RealtimeData<T> {
  const { guildId, path, events, onEvent, onChange } = options;
  const fetchData = options.fetchData ?? fetcher;
  const initial = options.initialData !== undefined;
  const state = { data: initial ? (options.initialData as T) : null, loading: !initial, error: null as RealtimeDataError | null, fetches: 0 };
  let stopped = false;
  let running: Promise<void> | null = null;
  let again = false;
  let coveredBySubscription = false;

  const notify = () => {
    if (!stopped && onChange) onChange({ data: state.data, loading: state.loading, error: state.error });
  };

  const refetch = (): Promise<void> => {
    if (stopped) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    coveredBySubscription = host.isSubscribed(guildId);
    state.loading = true;
    state.fetches += 1;
    notify();
    // eslint-disable-next-line prefer-const -- read inside the async body, after the assignment below
    let run: Promise<void> | undefined;
    run = (async () => {
      await null; // `running` is set before anything below can finish
      try {
        const data = await fetchData(guildId, path);
        if (!stopped) {
          state.data = data;
          state.error = null;
        }
      } catch (err) {
        if (!stopped) state.error = toRealtimeDataError(err, guildId, path);
      } finally {
        if (running === run!) running = null;
        state.loading = false;
      }
      if (again && !stopped) {
        again = false;
        notify();
        return refetch();
      }
      notify();
    })();
    running = run;
    return run;
  };

  const leave = host.joinGuild(guildId);
  const offs = (events ?? []).map((event) =>
    host.on(guildId, event, (data, envelope) => {
      if (stopped) return;
      if (!onEvent || state.data === null) {
        void refetch();
        return;
      }
      const result = onEvent(envelope.event, data, state.data);
      if (result === "refetch") {
        void refetch();
        return;
      }
      state.data = result;
      if (running) again = true; // the response in flight may predate this event
      notify();
    }),
  );
  offs.push(
    host.onSync(guildId, ({ recovered }) => {
      if (recovered === false || (recovered === undefined && !coveredBySubscription)) void refetch();
    }),
  );

  if (!initial) void refetch();
  return {
    get data() {
      return state.data;
    },
    get loading() {
      return state.loading;
    },
    get error() {
      return state.error;
    },
    get fetchCount() {
      return state.fetches;
    },
    refetch,
    stop() {
      if (stopped) return;
      stopped = true;
      for (const off of offs) off();
      leave();
    },
  };
}
