/**
 * Sequence numbers of Kinesis and DynamoDB Streams records.
 *
 * A sequence number is a decimal string. Kinesis documents them as `0|([1-9]\d{0,128})`, up to 129 digits, and
 * real ones are 56 digits long, far beyond what a JS `number` (53 bits) or even 128 bits holds. They are therefore
 * kept as strings and compared digit by digit, without `BigInt`, because comparison sits on the per-record path.
 * Leading zeros are accepted and ignored when comparing: DynamoDB Local pads its sequence numbers.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import type * as Equivalence_ from "effect/Equivalence"
import type * as Order_ from "effect/Order"
import * as Schema from "effect/Schema"

/**
 * The most significant digits a sequence number may have (the Kinesis API's `[1-9]\d{0,128}`).
 *
 * @since 0.1.0
 * @category constants
 */
export const maxDigits = 129

/**
 * The longest string accepted, leading zeros included. Padding is tolerated, not unbounded input.
 *
 * @since 0.1.0
 * @category constants
 */
export const maxLength = 256

/**
 * A validated sequence number: a string of decimal digits.
 *
 * @since 0.1.0
 * @category models
 */
export type SequenceNumber = string & Brand.Brand<"SequenceNumber">

/**
 * Tells why a string is not a sequence number, or `undefined` when it is one.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (input: string): string | undefined => {
  const length = input.length
  if (length === 0) return "a sequence number cannot be empty"
  if (length > maxLength) return `a sequence number has at most ${maxLength} characters, got ${length}`
  for (let i = 0; i < length; i++) {
    const code = input.charCodeAt(i)
    if (code < 48 || code > 57) {
      return `a sequence number holds only the digits 0-9, found ${JSON.stringify(input[i])} at index ${i}`
    }
  }
  const digits = length - leadingZeros(input)
  if (digits > maxDigits) return `a sequence number has at most ${maxDigits} significant digits, got ${digits}`
  return undefined
}

/**
 * Tells whether a string is a valid sequence number.
 *
 * @since 0.1.0
 * @category guards
 */
export const isSequenceNumber = (input: string): input is SequenceNumber => validate(input) === undefined

/**
 * Compares two sequence numbers numerically: `-1`, `0` or `1`.
 *
 * Leading zeros are ignored. The common case, two unpadded numbers, costs a length check and one string comparison.
 *
 * @since 0.1.0
 * @category ordering
 */
export const compare = (self: string, that: string): -1 | 0 | 1 => {
  if (self === that) return 0
  const selfZeros = self.charCodeAt(0) === 48 ? leadingZeros(self) : 0
  const thatZeros = that.charCodeAt(0) === 48 ? leadingZeros(that) : 0
  const selfDigits = self.length - selfZeros
  const thatDigits = that.length - thatZeros
  if (selfDigits !== thatDigits) return selfDigits < thatDigits ? -1 : 1
  if (selfZeros === 0 && thatZeros === 0) return self < that ? -1 : 1
  for (let i = selfZeros, j = thatZeros; i < self.length; i++, j++) {
    const difference = self.charCodeAt(i) - that.charCodeAt(j)
    if (difference !== 0) return difference < 0 ? -1 : 1
  }
  return 0
}

/**
 * The canonical form of a sequence number: the same number without leading zeros.
 *
 * @since 0.1.0
 * @category getters
 */
export const canonical = (self: SequenceNumber): SequenceNumber => {
  const zeros = leadingZeros(self)
  return zeros === 0 ? self : (self.slice(zeros) as SequenceNumber)
}

const leadingZeros = (input: string): number => {
  let zeros = 0
  // Keep the last digit: "000" is zero, with one significant digit.
  while (zeros < input.length - 1 && input.charCodeAt(zeros) === 48) zeros++
  return zeros
}

/**
 * The numeric order of sequence numbers.
 *
 * @since 0.1.0
 * @category ordering
 */
export const Order: Order_.Order<SequenceNumber> = compare

/**
 * Numeric equality: `"007"` and `"7"` are the same sequence number.
 *
 * @since 0.1.0
 * @category ordering
 */
export const Equivalence: Equivalence_.Equivalence<SequenceNumber> = (self, that) => compare(self, that) === 0

const twoPow128 = 2n ** 128n

/**
 * The Schema of a sequence number, from and to its string form.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SequenceNumber: Schema.brand<Schema.filter<typeof Schema.String>, "SequenceNumber"> = Schema.String.pipe(
  Schema.filter((input) => validate(input) ?? true, {
    identifier: "SequenceNumber",
    description: "a decimal sequence number of up to 129 significant digits",
    arbitrary: () => (fc) =>
      fc.oneof(
        // Small values, the 64- and 128-bit edges, and 56-digit numbers like the ones Kinesis issues.
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.constantFrom(2n ** 64n - 1n, 2n ** 64n, twoPow128 - 1n, twoPow128, twoPow128 + 1n),
        fc.bigInt({ min: twoPow128 - 1000n, max: twoPow128 + 1000n }),
        fc.bigInt({ min: 10n ** 55n, max: 10n ** 56n - 1n }),
        fc.bigInt({ min: 0n, max: 10n ** BigInt(maxDigits) - 1n })
      ).chain((value) => fc.nat({ max: 3 }).map((zeros) => "0".repeat(zeros) + value.toString()))
  }),
  Schema.brand("SequenceNumber")
)

/**
 * Makes a sequence number, throwing when the input is not one. Meant for literals in tests and examples; decode
 * input from outside with the `SequenceNumber` Schema instead.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (input: string): SequenceNumber => {
  const problem = validate(input)
  if (problem !== undefined) throw new Error(`Invalid sequence number ${JSON.stringify(input)}: ${problem}`)
  return input as SequenceNumber
}
