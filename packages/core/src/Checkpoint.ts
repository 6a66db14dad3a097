/**
 * Checkpoints: how far a shard has been processed.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Schema from "effect/Schema"
import * as Position from "./Position.js"

/**
 * The shard was checkpointed at a position: it and every record before it were written or ignored.
 *
 * @since 0.1.0
 * @category models
 */
export interface AtPosition {
  readonly _tag: "AtPosition"
  readonly position: Position.Position
}

/**
 * The shard was read to its end and every record was written. Child shards start only after this checkpoint.
 *
 * @since 0.1.0
 * @category models
 */
export interface ShardEnd {
  readonly _tag: "ShardEnd"
}

/**
 * A checkpoint.
 *
 * @since 0.1.0
 * @category models
 */
export type Checkpoint = AtPosition | ShardEnd

/**
 * @since 0.1.0
 * @category constructors
 */
export const atPosition = (position: Position.Position): Checkpoint => Data.struct({ _tag: "AtPosition", position })

/**
 * @since 0.1.0
 * @category constructors
 */
export const shardEnd: Checkpoint = Data.struct({ _tag: "ShardEnd" })

/**
 * The Schema of a checkpoint, as stored by the file checkpointer.
 *
 * @since 0.1.0
 * @category schemas
 */
export const Checkpoint: Schema.Schema<Checkpoint, CheckpointEncoded> = Schema.Union(
  Schema.TaggedStruct("AtPosition", { position: Position.Position }),
  Schema.TaggedStruct("ShardEnd", {})
).annotations({ identifier: "Checkpoint" })

/**
 * The encoded form of a checkpoint.
 *
 * @since 0.1.0
 * @category models
 */
export type CheckpointEncoded =
  | { readonly _tag: "AtPosition"; readonly position: Schema.Schema.Encoded<typeof Position.Position> }
  | { readonly _tag: "ShardEnd" }

/**
 * Compares checkpoints: positions in order, and the end of the shard after every position.
 *
 * @since 0.1.0
 * @category ordering
 */
export const compare = (self: Checkpoint, that: Checkpoint): -1 | 0 | 1 => {
  if (self._tag === "ShardEnd") return that._tag === "ShardEnd" ? 0 : 1
  if (that._tag === "ShardEnd") return -1
  return Position.compare(self.position, that.position)
}

/**
 * Tells whether a checkpoint is the end of the shard.
 *
 * @since 0.1.0
 * @category guards
 */
export const isShardEnd = (self: Checkpoint): self is ShardEnd => self._tag === "ShardEnd"

/**
 * A short text form for logs: the position's form, or `SHARD_END`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (self: Checkpoint): string =>
  self._tag === "ShardEnd" ? "SHARD_END" : Position.format(self.position)
