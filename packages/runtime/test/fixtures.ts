import { SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
import { type ShardConfig } from "@flusher/runtime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"

export const shardId = ShardId.unsafeMake("shardId-000000000001")

/** A record at sequence number `n`, padded to 56 digits as Kinesis's are. */
export const record = (n: number, partitionKey = "pk"): StreamRecord.StreamRecord =>
  StreamRecord.make({
    sequenceNumber: SequenceNumber.unsafeMake(`49590338271490256608559692538361571095921575989136${pad(n)}`),
    subSequenceNumber: 0,
    partitionKey,
    data: new TextEncoder().encode(`record ${n}`)
  })

const pad = (n: number) => n.toString().padStart(6, "0")

export const numberOf = (r: { readonly sequenceNumber: string }) => Number(r.sequenceNumber.slice(-6))

export const records = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => record(from + i))

/** Settings for tests: small, round numbers on the test clock. */
export const testConfig: Partial<ShardConfig.ShardConfig> = {
  flushInterval: Duration.seconds(5),
  heartbeatInterval: Duration.seconds(1),
  checkpointInterval: Duration.seconds(10),
  maxOutstanding: 1000,
  maxConcurrentWrites: 1,
  retry: { initialDelay: Duration.millis(100), maxDelay: Duration.seconds(1), maxAttempts: 3 },
  shutdownDeadline: Duration.seconds(30),
  watchdog: { stallTimeout: Duration.minutes(5), failOnStall: false }
}

/** Moves the test clock a second at a time until the fiber is done (at most `limit` seconds), then joins it. */
export const joinAdvancing = <A, E>(fiber: Fiber.Fiber<A, E>, limit = 600): Effect.Effect<A, E> =>
  Effect.gen(function*() {
    for (let second = 0; second < limit; second++) {
      if (Option.isSome(yield* Fiber.poll(fiber))) break
      yield* TestClock.adjust("1 second")
    }
    return yield* Fiber.join(fiber)
  })
