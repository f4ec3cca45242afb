/**
 * ftprep's library API: everything the command line does is callable from here.
 */
export { FORMATS, isFormatId, type FormatId, type Issue, type Severity } from "./types.js";
export { FtprepError, ConfigError, FileSystemError, AbortedError } from "./errors.js";
export { readLines, readLineBatches, DEFAULT_MAX_LINE_BYTES, type Line, type ReadLinesOptions } from "./read/lines.js";
export { readFileChunks } from "./read/file.js";
export { readJsonArray, type JsonArrayItem } from "./read/json-array.js";
export { ISSUE_CODES, severityOf, type IssueCode, type CodeInfo } from "./validate/codes.js";
export {
  validateFile,
  validateLines,
  DEFAULT_MAX_ISSUES,
  type ValidateOptions,
  type FileReport,
  type ReportedIssue,
  type FileStats,
} from "./validate/file.js";
export { validateLine, parseLine, validateRecordValue, type LineOutcome, type ParsedLine } from "./validate/line.js";
export { detectFormat, guessRecordFormat, checkRecord } from "./validate/record.js";
export { schemaRegistry, type SchemaRegistry } from "./validate/schema-registry.js";
export { validatePaths, type ValidatePathsOptions, type ValidationSummary, type FileFailure } from "./pipeline/validate.js";
export { discoverFiles, splitFromName, isDatasetName, type DiscoveredFile, type DiscoverInput, type Discovery, type SkippedPath, type Split } from "./discover/discover.js";
export { prepare, splitDraw, type PrepareOptions, type Plan, type PlannedFile, type SourcePlan, type OutputKind, type SourceStatus } from "./pipeline/prepare.js";
export { ShardWriter, shardName, SHARD_STATE_FILE, type WrittenFile, type ShardWriterOptions } from "./guard/shard-writer.js";
export { PROVIDER_FILE_LIMIT, MULTIPART_MARGIN, defaultMaxFileBytes, type Provider } from "./guard/limits.js";
export { parseByteSize, formatBytes } from "./guard/size.js";
export { DigestSet } from "./validate/digest-set.js";
export { startServer, DEFAULT_STORE, type ServerOptions, type RunningServer } from "./server/server.js";
export type { Faults } from "./server/faults.js";
