// @resumable/kube-runtime: the Kubernetes plumbing every controller here shares, and
// nothing about any one resource. Read in this order: clock, backoff, object-key, watcher
// (the list/watch state machine), store, reflector (watcher + store), workqueue, leader.
export { apiMessage, classifyRefusal, failureFields, httpStatus, isRefusal, networkFailure, type Refusal } from "./api-errors.js";
export { exponentialDelay, JitteredBackoff, watchBackoff, type BackoffPolicy, type JitteredBackoffOptions } from "./backoff.js";
export { ManualClock, systemClock, withTimeout, type Clock } from "./clock.js";
export { reuseConnections } from "./connections.js";
export { customObjectSource, eventSource, nodeSource, podSource, pvcSource, type CustomResource } from "./kube-sources.js";
export { LeaderElector, type LeaderElectionOptions } from "./leader.js";
export type { Logger } from "./logger.js";
export { objectKey, splitKey, type ObjectMeta } from "./object-key.js";
export { defaultRateLimit, RetryRateLimiter, type RateLimitOptions } from "./ratelimit.js";
export { isUnchanged, Reflector, stripManagedFields, type Change, type ReflectorOptions } from "./reflector.js";
export { deepFreeze, Store, type Indexers, type ReadonlyStore } from "./store.js";
export {
  transition,
  WatchEventError,
  Watcher,
  type ListPage,
  type ResourceSource,
  type RestartReason,
  type WatchClient,
  type WatcherEvent,
  type WatcherOptions,
  type WatcherState,
  type WatcherStep,
} from "./watcher.js";
export { WorkQueue, type Priority, type WorkQueueOptions } from "./workqueue.js";
