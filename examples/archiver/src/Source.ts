/**
 * The embedded source: shards of realistic records (56-digit ascending sequence numbers, partition keys, JSON
 * payloads), the same every time for the same shard, so a resumed run continues the very same stream.
 */
import { type Checkpoint, SequenceNumber, ShardId, StreamRecord } from "@flusher/core"
import type { Consumer } from "@flusher/runtime"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"

export interface SourceOptions {
  readonly shards: number
  /** Records in each shard; the shard ends after the last. */
  readonly records: number
  /** Records per second and per shard. */
  readonly rate: number
}

export const shardIdOf = (shard: number): ShardId.ShardId =>
  ShardId.unsafeMake(`shardId-${shard.toString().padStart(12, "0")}`)

// 42 fixed digits, the shard (6) and the record's index (8): 56 digits, ascending within a shard.
const prefix = "495903382714902566085596925383615710959215"

export const sequenceNumberOf = (shard: number, index: number): SequenceNumber.SequenceNumber =>
  SequenceNumber.unsafeMake(`${prefix}${shard.toString().padStart(6, "0")}${index.toString().padStart(8, "0")}`)

/** The index of a record in its shard, from its sequence number. */
export const indexOf = (sequenceNumber: string): number => Number(sequenceNumber.slice(-8))

const events = ["page_view", "add_to_cart", "checkout", "refund", "login"] as const

/** A small, fast, seeded generator: the same shard and index give the same record. */
const mix = (seed: number): number => {
  let t = (seed + 0x6d2b79f5) | 0
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

/** The payload of a record, as the producer wrote it. */
export const payloadOf = (shard: number, index: number) => {
  const random = mix(shard * 1_000_003 + index)
  const user = Math.floor(random * 10_000)
  return {
    shard,
    index,
    user: `user-${user}`,
    event: events[Math.floor(mix(index * 31 + shard) * events.length)],
    amountCents: Math.floor(mix(index * 17 + user) * 100_000)
  }
}

const encoder = new TextEncoder()

export const recordOf = (shard: number, index: number, total: number, rate: number, now: number) => {
  const payload = payloadOf(shard, index)
  return StreamRecord.make({
    sequenceNumber: sequenceNumberOf(shard, index),
    subSequenceNumber: 0,
    partitionKey: payload.user,
    data: encoder.encode(JSON.stringify(payload)),
    approximateArrivalTimestamp: now,
    // How far this record is from the end of the shard, in time at the source's rate.
    millisBehindLatest: Math.round(((total - index - 1) * 1000) / rate)
  })
}

/** The records of a shard after a checkpoint, at `rate` records per second, in chunks ten times a second. */
export const recordsOf = (shard: number, options: SourceOptions, checkpoint: Checkpoint.Checkpoint | null) => {
  const start = checkpoint === null || checkpoint._tag === "ShardEnd"
    ? 0
    : indexOf(checkpoint.position.sequenceNumber) + 1
  const perTick = Math.max(1, Math.round(options.rate / 10))
  const tick = Duration.millis((perTick * 1000) / options.rate)
  return Stream.unfoldChunkEffect(start, (next) =>
    next >= options.records
      ? Effect.succeed(Option.none())
      : Effect.gen(function*() {
        yield* Effect.sleep(tick)
        const now = yield* Clock.currentTimeMillis
        const end = Math.min(options.records, next + perTick)
        const chunk = []
        for (let index = next; index < end; index++) {
          chunk.push(recordOf(shard, index, options.records, options.rate, now))
        }
        return Option.some([Chunk.unsafeFromArray(chunk), end] as const)
      }))
}

/** Every shard of the source, as assignments for the consumer. */
export const assignments = (options: SourceOptions): Stream.Stream<Consumer.Assignment<never, never>> =>
  Stream.fromIterable(Array.from({ length: options.shards }, (_, shard) => ({
    shardId: shardIdOf(shard),
    records: (checkpoint: Checkpoint.Checkpoint | null) => recordsOf(shard, options, checkpoint)
  })))
