import { printable } from "./printable.js";
/**
 * Operational errors: thrown for things that stop the work (bad configuration, unreadable files, I/O).
 * Validation problems are never thrown; they are `Issue` values. Users match on `code`, which is stable.
 */
export class FtprepError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad option or argument: the user's command line, pipeline file or API call is wrong (exit code 2). */
export class ConfigError extends FtprepError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_CONFIG", message, options);
  }
}

/** A file or directory could not be read or written (exit code 3). */
export class FileSystemError extends FtprepError {
  readonly path: string;

  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("ERR_FS", message, options);
    this.path = path;
  }

  /** Wraps a Node.js file-system error into a one-line message that names the path and the errno code. */
  static from(path: string, action: string, cause: unknown): FileSystemError {
    const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
    const reason = errno ? describeErrno(errno) : cause instanceof Error ? cause.message : String(cause);
    return new FileSystemError(path, `cannot ${action} ${printable(path)}: ${reason}`, { cause });
  }
}

/** The work was cancelled by the caller (an AbortSignal fired). */
export class AbortedError extends FtprepError {
  constructor(message = "aborted", options?: { cause?: unknown }) {
    super("ERR_ABORTED", message, options);
  }
}

/** A system error code in words (`ENOENT` → no such file or directory). */
export function describeErrno(code: string): string {
  switch (code) {
    case "ENOENT":
      return "no such file or directory (ENOENT)";
    case "EACCES":
    case "EPERM":
      return `permission denied (${code})`;
    case "EISDIR":
      return "is a directory (EISDIR)";
    case "ENOTDIR":
      return "a path component is not a directory (ENOTDIR)";
    case "ENOSPC":
      return "no space left on device (ENOSPC)";
    case "ELOOP":
      return "too many levels of symbolic links (ELOOP)";
    default:
      return code;
  }
}
