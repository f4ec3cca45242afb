import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Every JSON value of the fixtures' plain JSONL and `.json` files (lines that are not JSON left out). */
export function fixtureValues(): unknown[] {
  const values: unknown[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".jsonl")) {
        for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
          try {
            values.push(JSON.parse(line));
          } catch {
            // not a record: the line-level fixtures' point
          }
        }
      } else if (entry.name.endsWith(".json") && !entry.name.endsWith(".expected.json")) {
        try {
          const value: unknown = JSON.parse(readFileSync(path, "utf8"));
          if (Array.isArray(value)) values.push(...value);
          else values.push(value);
        } catch {
          // not JSON
        }
      }
    }
  };
  walk("fixtures");
  return values;
}
