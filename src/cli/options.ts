import { InvalidArgumentError } from "commander";
import { parseByteSize } from "../guard/size.js";

/** commander argument parser: a positive integer. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError("Expected a positive integer.");
  return n;
}

/** commander argument parser: a byte size such as 1048576, 100MB or 64MiB. */
export function byteSize(value: string): number {
  const n = parseByteSize(value);
  if (n === undefined || n < 1) throw new InvalidArgumentError("Expected a size in bytes, such as 1048576, 100MB or 64MiB.");
  return n;
}
