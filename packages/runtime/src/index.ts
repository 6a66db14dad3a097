/**
 * The Effect runtime of flusher.
 *
 * @since 0.1.0
 */
export {}
