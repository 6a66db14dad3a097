/**
 * Tokens: what a flusher holds for each record it accepted, and returns when it flushes the record.
 *
 * @since 0.1.0
 */

declare const TokenBrand: unique symbol

/**
 * An opaque token issued by the batch processor for one record. A flusher keeps it and returns it, but cannot make
 * one: the type has no public constructor. The processor still checks every token a flusher returns, so a forged,
 * repeated or stale token is a typed error rather than a wrong checkpoint.
 *
 * @since 0.1.0
 * @category models
 */
export type Token = number & { readonly [TokenBrand]: "Token" }

/**
 * Makes a token out of thin air. Unsafe: only the batch processor issues real tokens. For tests, the testing
 * package and reference models.
 *
 * @since 0.1.0
 * @category unsafe
 */
export const unsafeMake = (n: number): Token => n as Token

/**
 * The number behind a token, for diagnostics.
 *
 * @since 0.1.0
 * @category getters
 */
export const toNumber = (self: Token): number => self
