// Text of the selectors the offloader builds for Warp 10 (FETCH, FIND, DELETE and /api/v0/delete parse
// them): the one encoder of a class, label name, label value or regex written into a selector.
//
// Warp 10 3.5.0 (GTSHelper.parseLabelsSelectors) splits the label terms on `,`, trims each one, then
// splits a term holding `=` on every `=` and any other term on every `~`, keeps only the first two pieces
// as name and value, and URL-decodes both (a raw `+` stays a `+`); the class and the terms are cut on the
// braces. So a raw `~` inside a regex cuts it short (`path~^(?:~a)$` reads as the regex `^(?:`: "Unclosed
// group"), a raw `=` turns a regex term into an exact one, raw braces, commas or outer spaces move or lose
// text. encodeURIComponent leaves `~ ! ' ( ) *` as they are: here they are encoded too, so the only raw
// characters left are letters, digits, `-`, `.` and `_` (TOSELECTOR also leaves `*`, harmless either way).

/** Characters written as themselves; every other UTF-8 byte is written `%XX`. */
const PLAIN = /^[A-Za-z0-9._-]$/;

/**
 * A class, label name, label value or regex as text Warp 10's selector parser decodes back to exactly
 * `s`, whatever it holds (separators, `%`, spaces, characters outside the BMP).
 */
export function encodeSelectorPart(s: string): string {
  let out = '';
  for (const ch of s) {
    if (PLAIN.test(ch)) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Java regex metacharacters escaped one by one (\Q…\E would break on a value holding \E). */
export const escapeRegex = (v: string): string => v.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
