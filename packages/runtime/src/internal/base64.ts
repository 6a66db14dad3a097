/**
 * A fast decoder of standard base64 for Node, for the MultiLang worker's records.
 *
 * @internal
 */

const equalsSign = 61

/**
 * Decodes standard base64 with padding, or answers `undefined` when the text is not standard base64. Node's decoder
 * skips what it does not know and stops at a misplaced `=`, so any such text decodes to fewer bytes than its length
 * promises; it also takes the URL-safe alphabet, which the daemon never sends, so `-` and `_` are refused apart.
 * That is the whole check, made as the bytes are decoded, rather than a pattern matched first.
 */
export const decodeStandardBase64 = (text: string): Uint8Array | undefined => {
  const length = text.length
  if (length % 4 !== 0) return undefined
  const padding = length === 0 || text.charCodeAt(length - 1) !== equalsSign
    ? 0
    : text.charCodeAt(length - 2) === equalsSign
    ? 2
    : 1
  const bytes = Buffer.from(text, "base64")
  if (bytes.length !== (length / 4) * 3 - padding) return undefined
  if (text.indexOf("-") !== -1 || text.indexOf("_") !== -1) return undefined
  return bytes
}
