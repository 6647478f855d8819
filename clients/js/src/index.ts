// @liveupdates/client: the browser client of LiveUpdates. React bindings: @liveupdates/client/react.
export { LiveUpdatesClient, createLiveUpdatesClient, Status } from "./client.js";
export type { LiveUpdatesOptions, SyncInfo, ServerError, AnyEvent, GuildState } from "./client.js";
export type { ConnectionStatus, Timers, WebSocketLike, WebSocketConstructor, TokenSource, ResumeOptions } from "./connection.js";
export { backoffDelay } from "./backoff.js";
export type { BackoffOptions } from "./backoff.js";
export { GuildSubscription, SubscriptionError } from "./subscription.js";
export type { SubscriptionState } from "./subscription.js";
export { unwrapSuccessData, RealtimeDataError } from "./realtime-data.js";
export type { ApiOptions, FetchData, RealtimeData, RealtimeDataOptions, RealtimeDataState } from "./realtime-data.js";
export type { ErrorCode, Envelope } from "./protocol.js";
export { LiveEvents, LiveEventNames } from "../live-events.js";
export type * from "../live-events.js";
