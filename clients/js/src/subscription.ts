// One guild subscription: what the page wants (a reference count) and what the server confirmed (state, position).

/** Where the subscription stands on the current connection. */
export type SubscriptionState = "unsubscribed" | "subscribing" | "subscribed" | "unsubscribing";

/** A refused or abandoned subscription, as ready() rejects it. */
export class SubscriptionError extends Error {
  /** The server's error code (`FORBIDDEN`, `TOO_MANY_GUILDS`, …), or `LEFT` when every join was undone first. */
  readonly code: string;
  readonly guildId: string;
  constructor(guildId: string, code: string, message?: string) {
    super(message ?? `subscription to guild ${guildId} ended: ${code}`);
    this.name = "SubscriptionError";
    this.code = code;
    this.guildId = guildId;
  }
}

/**
 * A guild's subscription, shared by every widget that joined it (reference counted: the room is left when every
 * join has been undone). It remembers the last `seq` and the `epoch` seen so that a re-subscription after a reconnect
 * can recover what was missed. Created and driven by LiveUpdatesClient; read it through client.subscription(guildId).
 */
export class GuildSubscription {
  readonly guildId: string;
  /** @internal */ _refs = 0;
  /** @internal */ _state: SubscriptionState = "unsubscribed";
  /** @internal */ _lastSeq: number | null = null;
  /** @internal */ _epoch: string | null = null;
  /** @internal */ _everSubscribed = false;
  /** @internal */ _refused: string | null = null;
  /** @internal */ _refusedMessage: string | undefined = undefined;
  private _waiters: { resolve: () => void; reject: (e: SubscriptionError) => void }[] = [];

  /** @internal */
  constructor(guildId: string) {
    this.guildId = guildId;
  }

  /** How many joins are active. */
  get refs(): number {
    return this._refs;
  }

  get state(): SubscriptionState {
    return this._state;
  }

  /** The last event position seen (`seq`), or null before the first `subscribed`. */
  get lastSeq(): number | null {
    return this._lastSeq;
  }

  /** The server's stream epoch for that position. */
  get epoch(): string | null {
    return this._epoch;
  }

  /** The error code the server refused this subscription with (not retried until joined afresh), else null. */
  get refused(): string | null {
    return this._refused;
  }

  /** The refusal as an error (code, guildId, the server's message), or null while not refused. */
  get error(): SubscriptionError | null {
    return this._refused === null ? null : new SubscriptionError(this.guildId, this._refused, this._refusedMessage);
  }

  /**
   * Resolves once the server has confirmed the subscription on the current connection (at once if it has); rejects
   * with a SubscriptionError when the server refuses it or every join is undone first.
   */
  ready(): Promise<void> {
    if (this._state === "subscribed") return Promise.resolve();
    if (this._refused !== null) return Promise.reject(this.error!);
    return new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
  }

  /** @internal The server confirmed it: state, and the position to recover from next time. */
  _confirmed(seq: number | null, epoch: string | null, recovered: boolean | undefined): void {
    this._state = "subscribed";
    this._everSubscribed = true;
    if (recovered !== true) {
      // Nothing will be replayed: the stream continues from the server's current position.
      this._epoch = epoch;
      this._lastSeq = seq;
    }
    this._settle((w) => w.resolve());
  }

  /** @internal The server refused it or revoked it: not retried until joined afresh. */
  _refuse(code: string, message?: string): void {
    this._state = "unsubscribed";
    this._refused = code;
    this._refusedMessage = message;
    this._forgetPosition();
    const error = this.error!;
    this._settle((w) => w.reject(error));
  }

  /** @internal Every join was undone. */
  _left(): void {
    this._settle((w) => w.reject(new SubscriptionError(this.guildId, "LEFT")));
  }

  /** @internal */
  _forgetPosition(): void {
    this._lastSeq = null;
    this._epoch = null;
    this._everSubscribed = false;
  }

  private _settle(fn: (w: { resolve: () => void; reject: (e: SubscriptionError) => void }) => void): void {
    const waiters = this._waiters;
    this._waiters = [];
    for (const w of waiters) fn(w);
  }
}
