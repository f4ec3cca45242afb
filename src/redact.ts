/**
 * Redaction of secrets from everything ftprep prints or writes. Keys and tokens are registered as they come in (the
 * environment, a flag, a client's or a server's options); `redact` replaces them, any `Bearer …` credential and any
 * URL's `user:password@` part, wherever the text came from — a server may echo the Authorization header in an error
 * body. The output edges call it: the CLI's stdout and stderr, the manifest, the NDJSON report, provider errors.
 */

/** Shorter values are not treated as secrets: replacing them would garble ordinary text (real keys are 32+). */
const MIN_SECRET_LENGTH = 6;
const MASK = "***";

const secrets = new Set<string>();
/** The registered secrets and their JSON-escaped forms, longest first (so a key containing another is masked whole). */
let forms: string[] = [];

/** Registers a secret (an API key, a server token) to be masked from now on. Short or empty values are ignored. */
export function registerSecret(value: string | undefined | null): void {
  if (typeof value !== "string" || value.length < MIN_SECRET_LENGTH || secrets.has(value)) return;
  secrets.add(value);
  const all = new Set<string>();
  for (const secret of secrets) {
    all.add(secret);
    all.add(JSON.stringify(secret).slice(1, -1));
    all.add(encodeURIComponent(secret));
  }
  forms = [...all].filter((f) => f.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

const BEARER = /\b(bearer\s+)[^\s"',;\\]+/gi;
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@"'<>\\]+@/gi;

/** The text with every registered secret, `Bearer` credential and URL userinfo replaced by `***`. */
export function redact(text: string): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(MASK);
  if (out.length >= 8 && /bearer/i.test(out)) out = out.replace(BEARER, `$1${MASK}`);
  if (out.includes("@")) out = out.replace(USERINFO, `$1${MASK}@`);
  return out;
}

/** A URL for messages: its userinfo masked, everything else as given. */
export function redactUrl(url: string): string {
  return redact(url);
}

/** JSON text of a value with every string in it redacted (valid JSON whatever the secrets contain). */
export function redactedJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "string" ? redact(v) : v), indent);
}
