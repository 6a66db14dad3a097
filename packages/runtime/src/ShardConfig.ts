/**
 * How a shard runs: intervals, bounds, retries, shutdown and the watchdog. Every setting has a default and can be
 * set from the environment (through Effect's `Config`), for example `FLUSHER_FLUSH_INTERVAL="10 seconds"`.
 *
 * | setting | environment | default |
 * |---|---|---|
 * | flushInterval | `FLUSHER_FLUSH_INTERVAL` | 5 seconds: flush once the oldest record held is this old |
 * | heartbeatInterval | `FLUSHER_HEARTBEAT_INTERVAL` | 1 second: tick the flusher's heartbeat this often |
 * | checkpointInterval | `FLUSHER_CHECKPOINT_INTERVAL` | 1 minute, or `everyWrite` |
 * | maxOutstanding | `FLUSHER_MAX_OUTSTANDING` | 10000 records received and not yet checkpointable |
 * | maxConcurrentWrites | `FLUSHER_MAX_CONCURRENT_WRITES` | 1 batch written at a time per shard |
 * | retry.initialDelay | `FLUSHER_RETRY_INITIAL_DELAY` | 100 millis before the first retry, doubling |
 * | retry.maxDelay | `FLUSHER_RETRY_MAX_DELAY` | 30 seconds at most between retries (before jitter) |
 * | retry.maxAttempts | `FLUSHER_RETRY_MAX_ATTEMPTS` | 10 attempts in all, then the shard fails |
 * | shutdownDeadline | `FLUSHER_SHUTDOWN_DEADLINE` | 30 seconds to flush, write and checkpoint at shutdown |
 * | watchdog.stallTimeout | `FLUSHER_STALL_TIMEOUT` | 5 minutes without checkpoint progress is a stall |
 * | watchdog.failOnStall | `FLUSHER_FAIL_ON_STALL` | false: report a stall; true: also fail the shard |
 *
 * @since 0.1.0
 */
import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as Schedule from "effect/Schedule"

/**
 * @since 0.1.0
 * @category models
 */
export interface ShardConfig {
  readonly flushInterval: Duration.Duration
  readonly heartbeatInterval: Duration.Duration
  readonly checkpointInterval: Duration.Duration | "everyWrite"
  readonly maxOutstanding: number
  readonly maxConcurrentWrites: number
  readonly retry: {
    readonly initialDelay: Duration.Duration
    readonly maxDelay: Duration.Duration
    readonly maxAttempts: number
  }
  readonly shutdownDeadline: Duration.Duration
  readonly watchdog: {
    readonly stallTimeout: Duration.Duration
    readonly failOnStall: boolean
  }
}

/**
 * The defaults.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaults: ShardConfig = {
  flushInterval: Duration.seconds(5),
  heartbeatInterval: Duration.seconds(1),
  checkpointInterval: Duration.minutes(1),
  maxOutstanding: 10_000,
  maxConcurrentWrites: 1,
  retry: { initialDelay: Duration.millis(100), maxDelay: Duration.seconds(30), maxAttempts: 10 },
  shutdownDeadline: Duration.seconds(30),
  watchdog: { stallTimeout: Duration.minutes(5), failOnStall: false }
}

const positiveInteger = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n >= 1 }),
    Config.withDefault(fallback)
  )

const checkpointInterval: Config.Config<Duration.Duration | "everyWrite"> = Config.string("CHECKPOINT_INTERVAL").pipe(
  Config.mapOrFail((text): Either.Either<Duration.Duration | "everyWrite", ConfigError.ConfigError> => {
    if (text === "everyWrite") return Either.right("everyWrite" as const)
    const decoded = Duration.decodeUnknown(text)
    return decoded._tag === "Some"
      ? Either.right(decoded.value)
      : Either.left(
        ConfigError.InvalidData([], `expected a duration such as "1 minute", or "everyWrite", got ${text}`)
      )
  }),
  Config.withDefault(defaults.checkpointInterval)
)

/**
 * The configuration read from the environment (variables prefixed `FLUSHER_`), with the defaults for what is
 * not set.
 *
 * @since 0.1.0
 * @category config
 */
export const config: Config.Config<ShardConfig> = Config.nested(
  Config.all({
    flushInterval: Config.duration("FLUSH_INTERVAL").pipe(Config.withDefault(defaults.flushInterval)),
    heartbeatInterval: Config.duration("HEARTBEAT_INTERVAL").pipe(Config.withDefault(defaults.heartbeatInterval)),
    checkpointInterval,
    maxOutstanding: positiveInteger("MAX_OUTSTANDING", defaults.maxOutstanding),
    maxConcurrentWrites: positiveInteger("MAX_CONCURRENT_WRITES", defaults.maxConcurrentWrites),
    retry: Config.all({
      initialDelay: Config.duration("RETRY_INITIAL_DELAY").pipe(Config.withDefault(defaults.retry.initialDelay)),
      maxDelay: Config.duration("RETRY_MAX_DELAY").pipe(Config.withDefault(defaults.retry.maxDelay)),
      maxAttempts: positiveInteger("RETRY_MAX_ATTEMPTS", defaults.retry.maxAttempts)
    }),
    shutdownDeadline: Config.duration("SHUTDOWN_DEADLINE").pipe(Config.withDefault(defaults.shutdownDeadline)),
    watchdog: Config.all({
      stallTimeout: Config.duration("STALL_TIMEOUT").pipe(Config.withDefault(defaults.watchdog.stallTimeout)),
      failOnStall: Config.boolean("FAIL_ON_STALL").pipe(Config.withDefault(defaults.watchdog.failOnStall))
    })
  }),
  "FLUSHER"
)

/**
 * The retry schedule of writes (and of checkpoints that failed): exponential from `initialDelay`, capped at
 * `maxDelay`, jittered, for `maxAttempts` attempts in all.
 *
 * @since 0.1.0
 * @category constructors
 */
export const retrySchedule = (retry: ShardConfig["retry"]): Schedule.Schedule<unknown> =>
  Schedule.exponential(retry.initialDelay).pipe(
    Schedule.union(Schedule.spaced(retry.maxDelay)),
    Schedule.jittered,
    // Whole milliseconds: finer delays mean nothing to a retry, and the test clock cannot represent them.
    Schedule.modifyDelay((_, delay) => Duration.millis(Math.round(Duration.toMillis(delay)))),
    Schedule.intersect(Schedule.recurs(retry.maxAttempts - 1))
  )
