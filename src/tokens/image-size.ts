/**
 * An image's width and height read from its header, as Pillow's `Image.open(…).size` reports them (the stored
 * size: no EXIF rotation), without decoding the pixels: PNG (IHDR), JPEG (the first SOFn frame header), GIF (the
 * logical screen) and WebP (VP8, VP8L, VP8X). Undefined for anything else or a header cut short.
 */
export interface ImageSize {
  width: number;
  height: number;
}

/** JPEG start-of-frame markers (SOF0–SOF15 but DHT C4, JPG C8, DAC CC). */
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

function jpegSize(b: Buffer): ImageSize | undefined {
  let pos = 2;
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return undefined;
    let marker = b[pos + 1]!;
    // Fill bytes: any number of 0xFF before the marker.
    while (marker === 0xff && pos + 2 < b.length) {
      pos++;
      marker = b[pos + 1]!;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined;
    if (pos + 4 > b.length) return undefined;
    const length = b.readUInt16BE(pos + 2);
    if (SOF.has(marker)) {
      if (pos + 9 > b.length) return undefined;
      return { height: b.readUInt16BE(pos + 5), width: b.readUInt16BE(pos + 7) };
    }
    pos += 2 + length;
  }
  return undefined;
}

/** The size in an image file's first bytes (undefined: not a known format, or more bytes are needed). */
export function imageHeaderSize(b: Buffer): ImageSize | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a && b.toString("latin1", 12, 16) === "IHDR") {
    return { width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  }
  if (b.length >= 10 && (b.toString("latin1", 0, 6) === "GIF87a" || b.toString("latin1", 0, 6) === "GIF89a")) {
    return { width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  }
  if (b.length >= 30 && b.toString("latin1", 0, 4) === "RIFF" && b.toString("latin1", 8, 12) === "WEBP") {
    const chunk = b.toString("latin1", 12, 16);
    if (chunk === "VP8 " && b[23] === 0x9d && b[24] === 0x01 && b[25] === 0x2a) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
    if (chunk === "VP8L" && b[20] === 0x2f) {
      const b1 = b[21]!;
      const b2 = b[22]!;
      const b3 = b[23]!;
      const b4 = b[24]!;
      return { width: 1 + (((b2 & 0x3f) << 8) | b1), height: 1 + (((b4 & 0x0f) << 10) | (b3 << 2) | ((b2 & 0xc0) >> 6)) };
    }
    if (chunk === "VP8X") return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
    return undefined;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return jpegSize(b);
  return undefined;
}

/**
 * The size of the image in a `data:image/…;base64,` URL (what mistral-common decodes with Pillow), decoding only as
 * much base64 as the header needs: the first 3 kB, or for a JPEG whose frame header comes later (after EXIF or an
 * embedded thumbnail) more, up to the whole image. Undefined for other URLs (http: the image is not in the data).
 */
export function dataUrlImageSize(url: string): ImageSize | undefined {
  if (!url.startsWith("data:image")) return undefined;
  const comma = url.indexOf(",");
  if (comma < 0) return undefined;
  // mistral-common takes the text between the first and the second comma.
  const end = url.indexOf(",", comma + 1);
  const data = url.slice(comma + 1, end < 0 ? url.length : end);
  for (let chars = 4096; ; chars *= 8) {
    const size = imageHeaderSize(Buffer.from(data.slice(0, chars), "base64"));
    if (size !== undefined || chars >= data.length) return size;
  }
}
