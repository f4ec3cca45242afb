import { describeType, type Findings, isObject, pointerToken } from "../findings.js";
import { countRole, type RecordStats } from "../stats.js";
import { isMessageList, walkPreference } from "./messages.js";

/**
 * Together AI's record formats, as its checker defines them (`together` Python package, `utils/files.py`
 * `check_file`, and `constants.py`): a record has exactly the keys of its format and no other; messages carry
 * `role` and `content`, roles are `system`, `user`, `assistant` and never the same twice in a row; content is a
 * string or a list of `text` / `image_url` parts (base64 JPEG, PNG or WebP images, in user messages only). The
 * checker stops at the first problem; these rules report every one, each under the code that names it.
 */

const ROLES = new Set(["system", "user", "assistant"]);

/** The keys of each Together format: a record must have these and no others (`JSONL_REQUIRED_COLUMNS_MAP`). */
const FORMAT_KEYS = {
  chat: ["messages"],
  instruction: ["prompt", "completion"],
  text: ["text"],
  preference: ["input", "preferred_output", "non_preferred_output"],
} as const;

/** At most 10 images per record (`MAX_IMAGES_PER_EXAMPLE`), each of at most 10 MiB before base64 (`MAX_IMAGE_BYTES`). */
export const TOGETHER_MAX_IMAGES = 10;
const DATA_URL_PREFIX = /^data:image\/(jpeg|png|webp);base64,/;
/** `MAX_BASE64_IMAGE_LENGTH`: the header plus 4/3 of 10 MiB. */
export const TOGETHER_MAX_IMAGE_URL_CHARS = "data:image/jpeg;base64,".length + Math.floor((4 * 10 * 1024 * 1024) / 3);

/** E_EXTRA_KEY for every key of the record its format has not. */
function checkKeys(record: Record<string, unknown>, format: keyof typeof FORMAT_KEYS, findings: Findings): void {
  const allowed: readonly string[] = FORMAT_KEYS[format];
  for (const key of Object.keys(record)) {
    if (!allowed.includes(key)) {
      findings.add("E_EXTRA_KEY", `/${pointerToken(key)}`, `\`${key}\` is not a key of Together's ${format} format (${allowed.map((k) => `\`${k}\``).join(", ")}); its checker refuses any other key`);
    }
  }
}

/** What a content value holds: whether it is a list of parts (multimodal), and its images. */
interface ContentShape {
  multimodal: boolean;
  images: number;
}

/**
 * Checks a content value (`_check_message_content`): a string, or a list of `text` / `image_url` parts, images only
 * where `role` is `user`. Returns its shape, or undefined when it is neither a string nor a list.
 */
function checkContent(content: unknown, path: string, role: string, findings: Findings, stats: RecordStats): ContentShape | undefined {
  if (typeof content === "string") {
    stats.textChars += content.length;
    return { multimodal: false, images: 0 };
  }
  if (!Array.isArray(content)) {
    findings.add("E_CONTENT_TYPE", path, `content must be a string or a list of parts, got ${describeType(content)}`);
    return undefined;
  }
  let images = 0;
  for (let k = 0; k < content.length; k++) {
    const part = content[k];
    const at = `${path}/${k}`;
    if (!isObject(part)) {
      findings.add("E_CONTENT_TYPE", at, `a content part must be an object, got ${describeType(part)}`);
    } else if (part.type === "text") {
      if (typeof part.text !== "string") findings.add("E_CONTENT_TYPE", `${at}/text`, `a text part needs a string \`text\`, got ${describeType(part.text)}`);
      else stats.textChars += part.text.length;
    } else if (part.type === "image_url") {
      images++;
      if (role !== "user") {
        findings.add("E_CONTENT_TYPE", at, `only user content can hold images, not ${role} content`);
        continue;
      }
      const image = part.image_url;
      const url = isObject(image) ? image.url : undefined;
      if (typeof url !== "string" || url === "") {
        findings.add("E_CONTENT_TYPE", `${at}/image_url`, "an image part needs `image_url` as {\"url\": \"data:image/…;base64,…\"}");
      } else if (!DATA_URL_PREFIX.test(url)) {
        findings.add("E_IMAGE", `${at}/image_url/url`, `Together takes images as base64 data URLs of JPEG, PNG or WebP (data:image/<jpeg|png|webp>;base64,…), got ${JSON.stringify(url.slice(0, 40))}…`);
      } else if (url.length > TOGETHER_MAX_IMAGE_URL_CHARS) {
        findings.add("E_IMAGE", `${at}/image_url/url`, `the image is ~${Math.floor((url.length * 3) / 4)} bytes; Together takes images of at most 10 MiB`);
      }
    } else if (part.type === undefined) {
      findings.add("E_CONTENT_TYPE", `${at}/type`, "the content part has no `type`");
    } else {
      findings.add("E_CONTENT_TYPE", `${at}/type`, `unknown part type ${JSON.stringify(part.type)}; expected "text" or "image_url"`);
    }
  }
  return { multimodal: true, images };
}

/**
 * Checks a list of messages (`validate_messages`); returns how many are assistant messages, or -1 when there is no
 * usable list.
 */
function checkMessages(messages: unknown, base: string, findings: Findings, stats: RecordStats): number {
  if (!isMessageList(messages, base, "messages", findings)) return -1;
  let assistants = 0;
  let previous: string | undefined;
  let multimodal: boolean | undefined;
  let images = 0;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i];
    const at = `${base}/${i}`;
    if (!isObject(message)) {
      findings.add("E_MESSAGE_NOT_OBJECT", at, `a message must be an object, got ${describeType(message)}`);
      previous = undefined;
      continue;
    }
    const role = message.role;
    let valid: string | undefined;
    if (role === undefined) {
      findings.add("E_MISSING_ROLE", `${at}/role`, "the message has no `role`");
    } else if (typeof role !== "string" || !ROLES.has(role)) {
      findings.add("E_UNKNOWN_ROLE", `${at}/role`, `unknown role ${JSON.stringify(role)}; Together takes ${[...ROLES].join(", ")}`);
    } else {
      valid = role;
      countRole(stats, role);
      if (role === "assistant") assistants++;
      if (role === previous) findings.add("E_ROLE_ORDER", `${at}/role`, `two ${role} messages in a row; Together wants the roles to alternate (user, assistant, user…) after an optional system message`);
    }
    previous = valid;
    const weight = message.weight;
    if (weight !== undefined && weight !== 0 && weight !== 1) {
      findings.add("E_WEIGHT", `${at}/weight`, `\`weight\` must be the integer 0 or 1, got ${JSON.stringify(weight)}`);
    }
    if (!Object.hasOwn(message, "content")) {
      findings.add("E_MISSING_CONTENT", `${at}/content`, "the message has no `content` (Together needs `role` and `content` in every message)");
      continue;
    }
    const shape = checkContent(message.content, `${at}/content`, valid ?? "user", findings, stats);
    if (shape === undefined) continue;
    if (shape.images > 0 && weight !== undefined && weight !== 0) {
      findings.add("E_IMAGE", `${at}/weight`, "a message with images must have weight 0 (or none)");
    }
    if (multimodal === undefined) multimodal = shape.multimodal;
    else if (multimodal !== shape.multimodal) {
      findings.add("E_CONTENT_TYPE", `${at}/content`, "the messages of a record must all be text (strings) or all lists of parts; Together refuses a mix");
    }
    images += shape.images;
  }
  if (images > TOGETHER_MAX_IMAGES) findings.add("E_IMAGE", base, `the record holds ${images} images; Together takes at most ${TOGETHER_MAX_IMAGES}`);
  if (images > 0) stats.imageRecords++;
  return assistants;
}

/** Together's conversational format: `{"messages": [...]}` with at least one assistant message. */
export function checkTogetherChat(record: Record<string, unknown>, findings: Findings, stats: RecordStats): void {
  checkKeys(record, "chat", findings);
  if (checkMessages(record.messages, "/messages", findings, stats) === 0) {
    findings.add("E_NO_ASSISTANT", "/messages", "the record has no assistant message to train on");
  }
}

/** Together's instruction format: `{"prompt": …, "completion": …}`, each content (images in the prompt only). */
export function checkTogetherInstruction(record: Record<string, unknown>, findings: Findings, stats: RecordStats): void {
  checkKeys(record, "instruction", findings);
  for (const key of FORMAT_KEYS.instruction) {
    if (!Object.hasOwn(record, key)) {
      findings.add("E_INSTRUCTION_SHAPE", `/${key}`, `the instruction record has no \`${key}\` (it needs \`prompt\` and \`completion\`)`);
      continue;
    }
    checkContent(record[key], `/${key}`, key === "prompt" ? "user" : "assistant", findings, stats);
  }
}

/** Together's plain-text format: `{"text": …}`. */
export function checkTogetherText(record: Record<string, unknown>, findings: Findings, stats: RecordStats): void {
  checkKeys(record, "text", findings);
  if (!Object.hasOwn(record, "text")) {
    findings.add("E_TEXT_SHAPE", "/text", "the text record has no `text`");
    return;
  }
  const shape = checkContent(record.text, "/text", "user", findings, stats);
  if (shape && shape.images > 0) stats.imageRecords++;
}

/**
 * Together's preference format (`validate_preference_openai`): `input.messages` not ending with an assistant
 * message, and `preferred_output` / `non_preferred_output` each a list of exactly one assistant message.
 */
export function checkTogetherPreference(record: Record<string, unknown>, findings: Findings, stats: RecordStats): void {
  checkKeys(record, "preference", findings);
  walkPreference(
    record,
    findings,
    "list",
    (messages, base) => checkMessages(messages, base, findings, stats),
    (key, output) => {
      const message = output[0];
      if (!isObject(message)) {
        findings.add("E_PREFERENCE_SHAPE", `/${key}/0`, `\`${key}\` must hold a message object, got ${describeType(message)}`);
      } else if (message.role !== "assistant") {
        findings.add("E_PREFERENCE_SHAPE", `/${key}/0/role`, `\`${key}\` must hold an assistant message, got role ${JSON.stringify(message.role ?? null)}`);
      } else if (!Object.hasOwn(message, "content")) {
        findings.add("E_MISSING_CONTENT", `/${key}/0/content`, `the \`${key}\` message has no \`content\``);
      } else {
        countRole(stats, "assistant");
        checkContent(message.content, `/${key}/0/content`, "assistant", findings, stats);
      }
    },
  );
}
