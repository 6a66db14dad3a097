/**
 * How much a flush must empty.
 *
 * @since 0.1.0
 */
import * as Schema from "effect/Schema"

/**
 * `partial`: the flusher writes what it judges ready and may keep the rest (the batch is full, or old). `full`:
 * the flusher must hand over everything it holds (the shard ended, or shutdown was requested).
 *
 * @since 0.1.0
 * @category schemas
 */
export const FlushMode = Schema.Literal("partial", "full")

/**
 * @since 0.1.0
 * @category models
 */
export type FlushMode = typeof FlushMode.Type
