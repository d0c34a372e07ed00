// A user's text in a message (CLI flags, selectors, instants). Pure.

/** A user's text quoted in a message, shortened: a 10,000-character label value must not bury the message. */
export function quoted(s: string, max = 80): string {
  return (
    JSON.stringify(s.length > max ? `${s.slice(0, max - 3)}...` : s) +
    (s.length > max ? ` (${s.length} characters)` : '')
  );
}
