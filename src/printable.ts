/**
 * Text from outside (file names, provider messages) made safe to print: control characters never reach the
 * terminal raw, where ESC/BEL would drive it and a newline in a file name would forge an output line.
 */

// C0 controls, DEL, C1 controls, the Unicode line and paragraph separators, lone surrogates.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

const escape = (c: string): string => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** A name or message as printed: `\n`, `\r`, `\t` and every other control character escaped (`\u001b`). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, escape);
}

// What may reach a terminal raw: newlines and tabs, and the progress line's own "\r ESC[2K" (erase the line).
const TERMINAL_UNSAFE = /\r(?!\u001b\[2K)|\u001b(?!\[2K)|[\u0000-\u0008\u000b\u000c\u000e-\u001a\u001c-\u001f\u007f-\u009f]/g;

/**
 * The last guard on everything the CLI writes: control characters other than `\n`, `\t` and the progress line's
 * erase sequence become `\uXXXX` (a valid JSON escape too, so a `--json` document stays valid and means the same).
 */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
