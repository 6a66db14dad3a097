/**
 * A persistent first-in first-out queue: the oldest items in the linked list `front`, oldest first, the newer ones
 * in `rear`, newest first. Adding and removing cost O(1) amortized, the oldest and the newest item are read in
 * O(1), and an earlier queue value stays valid.
 *
 * Invariant: `front` is empty only when the whole queue is.
 *
 * @internal
 */

interface Cell<A> {
  readonly head: A
  readonly tail: Cell<A> | null
}

export interface Queue<A> {
  readonly front: Cell<A> | null
  readonly rear: Cell<A> | null
  readonly newest: A | undefined
}

export const empty: Queue<never> = { front: null, rear: null, newest: undefined }

export const push = <A>(self: Queue<A>, item: A): Queue<A> =>
  self.front === null
    ? { front: { head: item, tail: null }, rear: null, newest: item }
    : { front: self.front, rear: { head: item, tail: self.rear }, newest: item }

const reversed = <A>(cell: Cell<A> | null): Cell<A> | null => {
  let result: Cell<A> | null = null
  for (let node = cell; node !== null; node = node.tail) result = { head: node.head, tail: result }
  return result
}

/** The oldest item. */
export const oldest = <A>(self: Queue<A>): A | undefined => self.front === null ? undefined : self.front.head

/** The newest item. */
export const newest = <A>(self: Queue<A>): A | undefined => self.newest

/** Removes the oldest segments that end at or below `token`. */
export const dropBelow = <A extends { readonly first: number; readonly positions: { readonly length: number } }>(
  self: Queue<A>,
  token: number
): Queue<A> => {
  let front = self.front
  let rear = self.rear
  while (front !== null && front.head.first + front.head.positions.length <= token) {
    front = front.tail
    if (front === null) {
      front = reversed(rear)
      rear = null
    }
  }
  if (front === self.front) return self
  return front === null ? empty : { front, rear, newest: self.newest }
}

/** The oldest segments that start below `token`, oldest first. */
export const oldestBelow = <A extends { readonly first: number }>(self: Queue<A>, token: number): Array<A> => {
  const result: Array<A> = []
  let node = self.front
  for (; node !== null && node.head.first < token; node = node.tail) result.push(node.head)
  if (node === null && self.rear !== null) {
    // The whole front is below: the rear holds the newer segments, newest first.
    for (const segment of Array.from(values({ front: null, rear: self.rear, newest: undefined }))) {
      if (segment.first < token) result.push(segment)
    }
  }
  return result
}

/** The items, oldest first. */
export function* values<A>(self: Queue<A>): Generator<A> {
  for (let node = self.front; node !== null; node = node.tail) yield node.head
  for (let node = reversed(self.rear); node !== null; node = node.tail) yield node.head
}
