/**
 * The watermark: the ledger of a shard's tokens, and the answer to "where may this shard checkpoint now?".
 *
 * Tokens are issued in the order of the records' positions and come back in any order, a batch at a time. The
 * watermark is the highest position such that it and every record before it were written or ignored, and that is
 * a checkpoint position (see `Position.isCheckpointable`). It never moves backwards.
 *
 * Only what lies above the watermark is kept: the gaps, as runs of token numbers, and the positions of the
 * records not yet below it. Memory is proportional to the tokens outstanding, not to the records since the last
 * checkpoint, and each token costs O(1) amortized. Every token given back is checked, and a token that is unknown,
 * repeated, ignored or already below the watermark is refused with a typed error.
 *
 * Token life cycle: reserved (its position is known) → issued (the flusher accepted it) → assigned to a batch
 * (the flusher returned it) → completed (the batch was written); or issued → ignored.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as Queue from "./internal/queue.js"
import * as Runs from "./internal/runs.js"
import * as Position from "./Position.js"
import { type Token, unsafeMake as unsafeMakeToken } from "./Token.js"

/**
 * @since 0.1.0
 * @category models
 */
export interface Watermark {
  /** Whether a non-final part of an aggregate the worker split may be a checkpoint position. */
  readonly subRecordCheckpoints: boolean
  /** Every token below is written or ignored. */
  readonly base: number
  /** Tokens below were accepted by the flusher. */
  readonly issued: number
  /** Tokens below have a known position. */
  readonly reserved: number
  /** The positions of the tokens from the oldest segment that reaches `base` up to `reserved`. */
  readonly segments: Queue.Queue<Segment>
  readonly ignored: Runs.Runs
  readonly completed: Runs.Runs
  readonly assigned: Runs.Runs
  readonly batches: ReadonlyArray<Batch>
  /** Tokens issued and not ignored, that no batch holds yet: the flusher holds them. */
  readonly held: number
  /** The highest checkpoint position below `base`, if any. */
  readonly checkpoint: Position.Position | null
}

/**
 * Positions reserved together, with the time they arrived.
 *
 * @since 0.1.0
 * @category models
 */
export interface Segment {
  readonly first: number
  readonly positions: ReadonlyArray<Position.Position>
  readonly reservedAt: number
}

/**
 * A batch of tokens being written.
 *
 * @since 0.1.0
 * @category models
 */
export interface Batch {
  readonly id: string
  readonly runs: Runs.Runs
  readonly first: Position.Position
  readonly last: Position.Position
  readonly size: number
}

/**
 * What holds the checkpoint back: the oldest record not yet written or ignored.
 *
 * @since 0.1.0
 * @category models
 */
export interface HoldBack {
  readonly token: Token
  readonly position: Position.Position
  /** When the record arrived (its segment was reserved). */
  readonly since: number
  /** The batch being written with it, or `null` while the flusher still holds it. */
  readonly batchId: string | null
}

/**
 * The kinds of token a watermark refuses.
 *
 * @since 0.1.0
 * @category errors
 */
export type TokenProblem =
  | "Unknown"
  | "Repeated"
  | "Ignored"
  | "AlreadyAssigned"
  | "AlreadyCompleted"
  | "BelowWatermark"

/**
 * A token the watermark refuses: given back although it was never accepted, or twice, or after it was ignored, or
 * after the watermark passed it. It says which token, and its position when the watermark still knows it.
 *
 * @since 0.1.0
 * @category errors
 */
export class TokenRefused extends Data.TaggedError("TokenRefused")<{
  readonly problem: TokenProblem
  readonly token: number
  readonly position: Position.Position | null
  readonly batchId: string | null
}> {
  override get message(): string {
    const where = this.position === null ?
      `token ${this.token}` :
      `the token of the record at ${Position.format(this.position)}`
    switch (this.problem) {
      case "Unknown":
        return `${where} was given back, but it was never accepted: it was not issued, or its record was refused ` +
          `with Full.`
      case "Repeated":
        return `${where} appears twice in the same batch.`
      case "Ignored":
        return `${where} was given back, but its record was ignored.`
      case "AlreadyAssigned":
        return `${where} was given back twice: batch ${this.batchId ?? "?"} being written already holds it.`
      case "AlreadyCompleted":
        return `${where} was given back twice: its record was already written.`
      case "BelowWatermark":
        return `${where} was given back after the checkpoint passed it: its record was already written or ignored.`
    }
  }
}

/**
 * A batch id that the watermark does not know.
 *
 * @since 0.1.0
 * @category errors
 */
export class UnknownBatch extends Data.TaggedError("UnknownBatch")<{ readonly batchId: string }> {
  override get message(): string {
    return `No batch ${this.batchId} is being written on this shard.`
  }
}

// -----------------------------------------------------------------------------
// constructors
// -----------------------------------------------------------------------------

/**
 * An empty watermark.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly subRecordCheckpoints?: boolean | undefined } = {}): Watermark => ({
  subRecordCheckpoints: options.subRecordCheckpoints ?? false,
  base: 0,
  issued: 0,
  reserved: 0,
  segments: Queue.empty,
  ignored: Runs.empty,
  completed: Runs.empty,
  assigned: Runs.empty,
  batches: [],
  held: 0,
  checkpoint: null
})

// -----------------------------------------------------------------------------
// getters
// -----------------------------------------------------------------------------

/**
 * The token the next reserved position gets.
 *
 * @since 0.1.0
 * @category getters
 */
export const nextIssued = (self: Watermark): Token => unsafeMakeToken(self.issued)

/**
 * How many issued tokens are not yet below the watermark: the records a checkpoint cannot pass yet.
 *
 * @since 0.1.0
 * @category getters
 */
export const outstanding = (self: Watermark): number => self.issued - self.base

/**
 * Where the shard may checkpoint: the highest checkpoint position such that it and every record before it were
 * written or ignored, or `null` when there is none yet.
 *
 * @since 0.1.0
 * @category getters
 */
export const checkpoint = (self: Watermark): Position.Position | null => self.checkpoint

/**
 * The position of a token the watermark still tracks (reserved and not yet below it), or `null`.
 *
 * @since 0.1.0
 * @category getters
 */
export const positionOf = (self: Watermark, token: number): Position.Position | null => {
  const segment = segmentOf(self, token)
  return segment === undefined ? null : segment.positions[token - segment.first]
}

/**
 * What holds the checkpoint back, or `null` when every issued token is below the watermark.
 *
 * @since 0.1.0
 * @category getters
 */
export const holdingBack = (self: Watermark): HoldBack | null => {
  if (self.base >= self.issued) return null
  const segment = segmentOf(self, self.base)!
  const batch = Runs.has(self.assigned, self.base) ? batchHolding(self, self.base) : undefined
  return {
    token: unsafeMakeToken(self.base),
    position: segment.positions[self.base - segment.first],
    since: segment.reservedAt,
    batchId: batch === undefined ? null : batch.id
  }
}

/**
 * The oldest token the flusher holds (issued, not ignored, in no batch), or `null` when it holds none.
 *
 * @since 0.1.0
 * @category getters
 */
export const oldestHeld = (self: Watermark): Token | null => {
  if (self.held === 0) return null
  let token = self.base
  for (;;) {
    const next = Math.max(
      Runs.endOfRunHolding(self.ignored, token),
      Runs.endOfRunHolding(self.completed, token),
      Runs.endOfRunHolding(self.assigned, token)
    )
    if (next === token) return token < self.issued ? unsafeMakeToken(token) : null
    token = next
  }
}

/**
 * When the oldest record the flusher holds arrived, or `null` when it holds none.
 *
 * @since 0.1.0
 * @category getters
 */
export const oldestHeldSince = (self: Watermark): number | null => {
  const token = oldestHeld(self)
  return token === null ? null : segmentOf(self, token)!.reservedAt
}

/**
 * The batch being written under an id, if any.
 *
 * @since 0.1.0
 * @category getters
 */
export const batch = (self: Watermark, batchId: string): Batch | undefined => self.batches[indexOfBatch(self, batchId)]

// -----------------------------------------------------------------------------
// transitions
// -----------------------------------------------------------------------------

/**
 * Makes the positions of the next records known, in order, without issuing their tokens: the token of
 * `positions[i]` is `nextReserved + i`. The caller issues them as the flusher accepts them.
 *
 * @since 0.1.0
 * @category transitions
 */
export const reserve = (self: Watermark, positions: ReadonlyArray<Position.Position>, now: number): Watermark => {
  if (positions.length === 0) return self
  return {
    ...self,
    reserved: self.reserved + positions.length,
    segments: Queue.push(self.segments, { first: self.reserved, positions, reservedAt: now })
  }
}

/**
 * Issues the next `count` reserved tokens, of which the given runs (ascending `[start, end)` pairs within the
 * issued range) were ignored by the flusher. Ignored records never hold the checkpoint back.
 *
 * @since 0.1.0
 * @category transitions
 */
export const issue = (self: Watermark, count: number, ignored: ReadonlyArray<number> = Runs.empty): Watermark => {
  if (count === 0) return self
  if (self.issued + count > self.reserved) {
    throw new RangeError(`Cannot issue ${count} tokens: only ${self.reserved - self.issued} are reserved`)
  }
  const next: Watermark = {
    ...self,
    issued: self.issued + count,
    held: self.held + count - Runs.size(ignored),
    ignored: Runs.union(self.ignored, ignored)
  }
  return ignored.length === 0 ? next : advance(next)
}

/**
 * Records that a batch holding these tokens is being written, under an id made from its first and last positions.
 * Refuses any token that is not held by the flusher.
 *
 * @since 0.1.0
 * @category transitions
 */
export const assign = (
  self: Watermark,
  tokens: ReadonlyArray<Token>,
  makeId: (first: Position.Position, last: Position.Position) => string
): Either.Either<{ readonly watermark: Watermark; readonly batch: Batch }, TokenRefused> => {
  const grouped = Runs.fromIntegers(tokens)
  if (!("runs" in grouped)) {
    return "repeated" in grouped
      ? refuse(self, "Repeated", grouped.repeated)
      : Either.left(refusedUnknown(grouped.notInteger))
  }
  const runs = grouped.runs
  for (let i = 0; i < runs.length; i += 2) {
    const start = runs[i]
    const end = runs[i + 1]
    if (start < 0) return Either.left(refusedUnknown(start))
    if (end > self.issued) return refuse(self, "Unknown", Math.max(start, self.issued))
    if (start < self.base) return refuse(self, "BelowWatermark", start)
    let token = Runs.firstOverlap(self.ignored, start, end)
    if (token !== -1) return refuse(self, "Ignored", token)
    token = Runs.firstOverlap(self.completed, start, end)
    if (token !== -1) return refuse(self, "AlreadyCompleted", token)
    token = Runs.firstOverlap(self.assigned, start, end)
    if (token !== -1) return refuse(self, "AlreadyAssigned", token, batchHolding(self, token)?.id ?? null)
  }

  const first = positionOf(self, runs[0])!
  const last = positionOf(self, runs[runs.length - 1] - 1)!
  const batch: Batch = { id: makeId(first, last), runs, first, last, size: tokens.length }
  return Either.right({
    watermark: {
      ...self,
      assigned: Runs.union(self.assigned, runs),
      batches: [...self.batches, batch],
      held: self.held - tokens.length
    },
    batch
  })
}

/**
 * Records that a batch was written: its tokens are complete, and the watermark moves as far as it can.
 *
 * @since 0.1.0
 * @category transitions
 */
export const complete = (self: Watermark, batchId: string): Either.Either<Watermark, UnknownBatch> => {
  const index = indexOfBatch(self, batchId)
  if (index === -1) return Either.left(new UnknownBatch({ batchId }))
  const done = self.batches[index]
  const batches = self.batches.slice()
  batches.splice(index, 1)
  return Either.right(advance({
    ...self,
    batches,
    assigned: Runs.difference(self.assigned, done.runs),
    completed: Runs.union(self.completed, done.runs)
  }))
}

// -----------------------------------------------------------------------------
// internals
// -----------------------------------------------------------------------------

// Plain loops and top-level functions on the paths taken per batch: closures created there cost more than the work.

const refuse = (self: Watermark, problem: TokenProblem, token: number, batchId: string | null = null) =>
  Either.left(new TokenRefused({ problem, token, position: positionOf(self, token), batchId }))

const indexOfBatch = (self: Watermark, batchId: string): number => {
  for (let i = 0; i < self.batches.length; i++) if (self.batches[i].id === batchId) return i
  return -1
}

const refusedUnknown = (token: number) => new TokenRefused({ problem: "Unknown", token, position: null, batchId: null })

const batchHolding = (self: Watermark, token: number): Batch | undefined =>
  self.batches.find((b) => Runs.has(b.runs, token))

const segmentEnd = (segment: Segment) => segment.first + segment.positions.length

const segmentOf = (self: Watermark, token: number): Segment | undefined => {
  if (token < self.base || token >= self.reserved) return undefined
  // Lookups are nearly always at one end: the oldest outstanding record, or the newest.
  const oldest = Queue.oldest(self.segments)!
  if (token < segmentEnd(oldest)) return oldest
  const newest = Queue.newest(self.segments)!
  if (token >= newest.first) return newest
  for (const segment of Queue.values(self.segments)) {
    if (token < segmentEnd(segment)) return segment
  }
  return undefined
}

/** Moves `base` past every written or ignored token, notes the new checkpoint and drops what lies below. */
const advance = (self: Watermark): Watermark => {
  const oldBase = self.base
  let base = oldBase
  let ignoredIndex = 0
  let completedIndex = 0
  for (;;) {
    if (ignoredIndex < self.ignored.length && self.ignored[ignoredIndex] === base) {
      base = self.ignored[ignoredIndex + 1]
      ignoredIndex += 2
    } else if (completedIndex < self.completed.length && self.completed[completedIndex] === base) {
      base = self.completed[completedIndex + 1]
      completedIndex += 2
    } else {
      break
    }
  }
  if (base === oldBase) return self

  // The segments that hold tokens between the old and the new base, oldest first.
  const passed = Queue.oldestBelow(self.segments, base)
  let checkpoint = self.checkpoint
  search: for (let s = passed.length - 1; s >= 0; s--) {
    const segment = passed[s]
    if (segmentEnd(segment) <= oldBase) break
    const from = Math.min(base, segmentEnd(segment)) - 1
    const to = Math.max(oldBase, segment.first)
    for (let token = from; token >= to; token--) {
      const position = segment.positions[token - segment.first]
      if (Position.isCheckpointable(position, self.subRecordCheckpoints)) {
        checkpoint = position
        break search
      }
    }
  }

  return {
    ...self,
    base,
    ignored: ignoredIndex === 0 ? self.ignored : self.ignored.slice(ignoredIndex),
    completed: completedIndex === 0 ? self.completed : self.completed.slice(completedIndex),
    segments: Queue.dropBelow(self.segments, base),
    checkpoint
  }
}
