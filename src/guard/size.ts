/** Byte sizes as people write them: `512MB` (10^6), `64MiB` (2^20), `1.5GB`, or a plain number of bytes. */

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  k: 1e3,
  m: 1e6,
  g: 1e9,
};

/** Parses a byte size; returns undefined when the text is not one. */
export function parseByteSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!match) return undefined;
  const unit = match[2]!.toLowerCase();
  const factor = unit === "" ? 1 : UNITS[unit];
  if (factor === undefined) return undefined;
  const value = Math.floor(Number(match[1]) * factor);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** Formats a byte count for people: `3.2 kB`, `512.0 MB` (SI units, as providers state their limits). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(1)} ${unit}`;
}
