/**
 * Sets of integers held as sorted, disjoint, non-adjacent half-open runs `[start, end)`, packed in one flat array
 * `[start0, end0, start1, end1, …]`. Every function returns a new array and leaves its inputs alone.
 *
 * @internal
 */

/** A run set. */
export type Runs = ReadonlyArray<number>

export const empty: Runs = []

/**
 * The runs of a list of integers, or the first value that is not an integer, or the first integer that appears
 * twice. Ascending input, the common case, costs one pass; anything else is sorted first.
 */
export const fromIntegers = (
  values: ReadonlyArray<number>
): { readonly runs: Runs } | { readonly notInteger: number } | { readonly repeated: number } => {
  const runs: Array<number> = []
  if (values.length === 0) return { runs }
  // The run being built, kept in integer locals and pushed when it breaks: this loop sees every token of every
  // batch, and a local that starts out as a non-integer (such as -Infinity) would make its arithmetic slow.
  let start = values[0]
  if (!Number.isInteger(start)) return { notInteger: start }
  let end = start + 1
  for (let i = 1; i < values.length; i++) {
    const value = values[i]
    if (value === end) {
      end = end + 1
      continue
    }
    if (!Number.isInteger(value)) return { notInteger: value }
    if (value < end) return fromUnsorted(values)
    runs.push(start, end)
    start = value
    end = value + 1
  }
  runs.push(start, end)
  return { runs }
}

const fromUnsorted = (values: ReadonlyArray<number>): { readonly runs: Runs } | { readonly repeated: number } => {
  const sorted = Array.from(values).sort((a, b) => a - b)
  const runs: Array<number> = []
  for (let i = 0; i < sorted.length; i++) {
    const value = sorted[i]
    if (i > 0 && value === sorted[i - 1]) return { repeated: value }
    if (runs.length > 0 && runs[runs.length - 1] === value) runs[runs.length - 1] = value + 1
    else runs.push(value, value + 1)
  }
  return { runs }
}

/** The index (in pairs) of the first run that ends after `value`; the number of runs when there is none. */
const firstRunEndingAfter = (runs: Runs, value: number): number => {
  let low = 0
  let high = runs.length >> 1
  while (low < high) {
    const middle = (low + high) >> 1
    if (runs[middle * 2 + 1] <= value) low = middle + 1
    else high = middle
  }
  return low
}

/** The first integer of `[start, end)` that `runs` holds, or `-1`. */
export const firstOverlap = (runs: Runs, start: number, end: number): number => {
  const index = firstRunEndingAfter(runs, start) * 2
  if (index >= runs.length) return -1
  const runStart = runs[index]
  return runStart < end ? Math.max(runStart, start) : -1
}

/** Where the run holding `value` ends, or `value` itself when no run holds it. */
export const endOfRunHolding = (runs: Runs, value: number): number => {
  const index = firstRunEndingAfter(runs, value) * 2
  return index < runs.length && runs[index] <= value ? runs[index + 1] : value
}

/** Whether `runs` holds `value`. */
export const has = (runs: Runs, value: number): boolean => firstOverlap(runs, value, value + 1) !== -1

/** The union of two disjoint run sets. */
export const union = (self: Runs, that: Runs): Runs => {
  if (that.length === 0) return self
  if (self.length === 0) return that
  const result: Array<number> = []
  let i = 0
  let j = 0
  while (i < self.length || j < that.length) {
    let start: number
    let end: number
    if (j >= that.length || (i < self.length && self[i] < that[j])) {
      start = self[i]
      end = self[i + 1]
      i += 2
    } else {
      start = that[j]
      end = that[j + 1]
      j += 2
    }
    if (result.length > 0 && result[result.length - 1] >= start) {
      if (end > result[result.length - 1]) result[result.length - 1] = end
    } else {
      result.push(start, end)
    }
  }
  return result
}

/** `self` without the integers of `that`, which must be a subset of `self`. */
export const difference = (self: Runs, that: Runs): Runs => {
  if (that.length === 0) return self
  const result: Array<number> = []
  let j = 0
  for (let i = 0; i < self.length; i += 2) {
    let start = self[i]
    const end = self[i + 1]
    while (j < that.length && that[j] < end) {
      if (that[j] > start) result.push(start, that[j])
      start = Math.max(start, that[j + 1])
      j += 2
    }
    if (start < end) result.push(start, end)
  }
  return result
}

/** How many integers the runs hold. */
export const size = (self: Runs): number => {
  let total = 0
  for (let i = 0; i < self.length; i += 2) total += self[i + 1] - self[i]
  return total
}
