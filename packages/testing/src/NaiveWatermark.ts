/**
 * A naive watermark: a reference model for `Watermark`, written for obviousness rather than speed.
 *
 * It remembers every token it ever issued, in an array, with its status, and recomputes the checkpoint from the
 * first token each time it is asked. Its memory grows with every record; it is for tests only.
 *
 * @since 0.1.0
 */
import { Position } from "@flusher/core"

/**
 * The status of a token.
 *
 * @since 0.1.0
 * @category models
 */
export type Status = "held" | "ignored" | "assigned" | "written"

/**
 * @since 0.1.0
 * @category models
 */
export interface Entry {
  readonly position: Position.Position
  readonly status: Status
  readonly batchId: string | null
}

/**
 * @since 0.1.0
 * @category models
 */
export interface NaiveWatermark {
  readonly subRecordCheckpoints: boolean
  readonly entries: ReadonlyArray<Entry>
}

/**
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: { readonly subRecordCheckpoints?: boolean } = {}): NaiveWatermark => ({
  subRecordCheckpoints: options.subRecordCheckpoints ?? false,
  entries: []
})

/**
 * Issues one token per position; `ignored[i]` says whether the record was ignored.
 *
 * @since 0.1.0
 * @category transitions
 */
export const issue = (
  self: NaiveWatermark,
  positions: ReadonlyArray<Position.Position>,
  ignored: ReadonlyArray<boolean>
): NaiveWatermark => ({
  ...self,
  entries: [
    ...self.entries,
    ...positions.map((position, i): Entry => ({ position, status: ignored[i] ? "ignored" : "held", batchId: null }))
  ]
})

/**
 * Assigns tokens to a batch, or says why one of them cannot be.
 *
 * @since 0.1.0
 * @category transitions
 */
export const assign = (
  self: NaiveWatermark,
  tokens: ReadonlyArray<number>,
  batchId: string
): NaiveWatermark | { readonly refused: number; readonly reason: string } => {
  const seen = new Set<number>()
  for (const token of tokens) {
    if (seen.has(token)) return { refused: token, reason: "repeated" }
    seen.add(token)
    const entry = self.entries[token]
    if (!Number.isInteger(token) || entry === undefined) return { refused: token, reason: "unknown" }
    if (entry.status !== "held") return { refused: token, reason: entry.status }
  }
  return {
    ...self,
    entries: self.entries.map((entry, token) => seen.has(token) ? { ...entry, status: "assigned", batchId } : entry)
  }
}

/**
 * Marks every token of a batch written.
 *
 * @since 0.1.0
 * @category transitions
 */
export const complete = (self: NaiveWatermark, batchId: string): NaiveWatermark => ({
  ...self,
  entries: self.entries.map((entry) => entry.batchId === batchId ? { ...entry, status: "written" } : entry)
})

/**
 * How many tokens, from the first, are written or ignored.
 *
 * @since 0.1.0
 * @category getters
 */
export const doneCount = (self: NaiveWatermark): number => {
  let count = 0
  while (
    count < self.entries.length &&
    (self.entries[count].status === "written" || self.entries[count].status === "ignored")
  ) count++
  return count
}

/**
 * The checkpoint: the last checkpoint position among the tokens that are, with all before them, written or ignored.
 *
 * @since 0.1.0
 * @category getters
 */
export const checkpoint = (self: NaiveWatermark): Position.Position | null => {
  let result: Position.Position | null = null
  const done = doneCount(self)
  for (let token = 0; token < done; token++) {
    const position = self.entries[token].position
    if (Position.isCheckpointable(position, self.subRecordCheckpoints)) result = position
  }
  return result
}

/**
 * Tokens issued and not yet below the checkpoint.
 *
 * @since 0.1.0
 * @category getters
 */
export const outstanding = (self: NaiveWatermark): number => self.entries.length - doneCount(self)

/**
 * The tokens the flusher still holds.
 *
 * @since 0.1.0
 * @category getters
 */
export const held = (self: NaiveWatermark): ReadonlyArray<number> =>
  self.entries.flatMap((entry, token) => entry.status === "held" ? [token] : [])
