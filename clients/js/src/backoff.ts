// Reconnect and re-auth delays: capped exponential backoff with "equal jitter".

/** Delays: attempt n waits between half and all of min(maxMs, initialMs × factorⁿ). */
export interface BackoffOptions {
  /** First delay's ceiling. Default 500. */
  initialMs?: number;
  /** Largest delay. Default 15000. */
  maxMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
}

export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = Object.freeze({ initialMs: 500, maxMs: 15000, factor: 2 });

/**
 * Delay before attempt number `attempt` (0-based): exponential, capped at maxMs, with equal jitter (half fixed, half
 * random) so that many pages dropped at once by a restart do not come back in lockstep.
 */
export function backoffDelay(attempt: number, backoff: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const { initialMs, maxMs, factor } = { ...DEFAULT_BACKOFF, ...backoff };
  const ceiling = Math.min(maxMs, initialMs * Math.pow(factor, Math.max(0, attempt)));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
