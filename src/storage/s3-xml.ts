/**
 * The few S3 XML answers ftprep reads (ListObjectsV2, InitiateMultipartUpload, CompleteMultipartUpload, Error) are
 * flat: a known element holding text, or a repeated element holding such elements. So they are read with bounded
 * patterns over the answer's text rather than a general XML parser; entities are decoded, CDATA is not expected.
 * An answer is untrusted input: anything missing reads as undefined, and callers check what they need.
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes XML character and entity references (`&amp;`, `&#10;`, `&#x41;`). */
export function decodeXmlText(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref.startsWith("#x")) return safeCodePoint(Number.parseInt(ref.slice(2), 16)) ?? whole;
    if (ref.startsWith("#")) return safeCodePoint(Number.parseInt(ref.slice(1), 10)) ?? whole;
    return ENTITIES[ref] ?? whole;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

/** Escapes text for an XML element's content. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&${Object.entries(ENTITIES).find(([, v]) => v === c)![0]};`);
}

/** The text of every `<tag>…</tag>` in `xml`, decoded, in order (an empty `<tag/>` gives ""). */
export function xmlElements(xml: string, tag: string): string[] {
  const out: string[] = [];
  const pattern = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, "g");
  for (const match of xml.matchAll(pattern)) out.push(match[1] ?? "");
  return out;
}

/** The decoded text of the first `<tag>…</tag>`, or undefined. */
export function xmlText(xml: string, tag: string): string | undefined {
  const found = xmlElements(xml, tag)[0];
  return found === undefined ? undefined : decodeXmlText(found);
}
