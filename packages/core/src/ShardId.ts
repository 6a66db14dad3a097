/**
 * Shard identifiers.
 *
 * @since 0.1.0
 */
import type * as Brand from "effect/Brand"
import * as Schema from "effect/Schema"

/**
 * The identifier of a shard, such as Kinesis's `shardId-000000000001`.
 *
 * Shard ids name files and directories in the file Layers, so they are limited to letters, digits, `_`, `.` and
 * `-` (every Kinesis and DynamoDB Streams shard id fits), and `.` and `..` are refused.
 *
 * @since 0.1.0
 * @category models
 */
export type ShardId = string & Brand.Brand<"ShardId">

const shardIdPattern = /^[A-Za-z0-9_.-]{1,256}$/

/**
 * Tells why a string is not a shard id, or `undefined` when it is one.
 *
 * @since 0.1.0
 * @category validation
 */
export const validate = (input: string): string | undefined => {
  if (!shardIdPattern.test(input)) {
    return "a shard id has 1 to 256 characters among letters, digits, '_', '.' and '-'"
  }
  if (input === "." || input === "..") return "a shard id cannot be '.' or '..'"
  return undefined
}

/**
 * The Schema of a shard id.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ShardId: Schema.brand<Schema.filter<typeof Schema.String>, "ShardId"> = Schema.String.pipe(
  Schema.filter((input) => validate(input) ?? true, {
    identifier: "ShardId",
    description: "a shard id: letters, digits, '_', '.' and '-'",
    arbitrary: () => (fc) => fc.nat({ max: 99_999 }).map((n) => `shardId-${n.toString().padStart(12, "0")}`)
  }),
  Schema.brand("ShardId")
)

/**
 * Makes a shard id, throwing when the input is not one. Meant for literals; decode outside input with the Schema.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMake = (input: string): ShardId => {
  const problem = validate(input)
  if (problem !== undefined) throw new Error(`Invalid shard id ${JSON.stringify(input)}: ${problem}`)
  return input as ShardId
}
