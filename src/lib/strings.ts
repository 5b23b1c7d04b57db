/**
 * Strings we refuse everywhere: a NUL character (PostgreSQL text cannot hold it: error 22021) and
 * an unpaired UTF-16 surrogate (not valid Unicode; would be stored as U+FFFD, silently changed).
 */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const isBadString = (s: string): boolean => s.includes('\u0000') || LONE_SURROGATE.test(s);
