/**
 * Default paths and sizes the command line names in its help. Kept apart from the modules that use them so
 * describing a command loads none of its machinery (the CLI loads that when the command runs).
 */

/** Where `upload` / `run` keep the manifest. */
export const DEFAULT_MANIFEST = "ftprep-manifest.json";
/** Where `upload` / `run` write shards and cleaned copies. */
export const DEFAULT_OUT_DIR = ".ftprep/out";
/** The embedded / local server's store. */
export const DEFAULT_STORE = ".ftprep/store";
/** Examples kept per code in a report. */
export const DEFAULT_MAX_ISSUES = 20;
/** The BullMQ queue `plan --enqueue`, `work --queue` and `queue status` use. */
export const DEFAULT_QUEUE_NAME = "ftprep";
