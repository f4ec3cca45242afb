/**
 * ftprep's library API: everything the command line does is callable from here.
 */
export { FORMATS, isFormatId, PROVIDER_NAMES, isProviderName, type FormatId, type FormatFamily, type Issue, type Severity } from "./types.js";
export { resolveTargetSpec, targetFor, targetOf, type TargetSpec, type TargetInput } from "./target/target-spec.js";
export { PROVIDERS, providerSpec, allProviders, providerOfFormat, familyOf, formatsOf, describeFormat } from "./target/registry.js";
export type { ProviderSpec } from "./target/provider-spec.js";
export { tooFewExamples, checkMaxFileBytes } from "./target/job-rules.js";
export { CrossProviderCheck, HINT_RECHECK_LIMIT, type ProviderHint } from "./validate/cross-provider.js";
export { PROVIDER_CLIENTS, createProviderClient } from "./providers/registry.js";
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
export { detectFormat, guessRecordFormat, guessRecordFamily, checkRecord } from "./validate/record.js";
export { schemaRegistry, type SchemaRegistry } from "./validate/schema-registry.js";
export { validatePaths, type ValidatePathsOptions, type ValidationSummary, type FileFailure } from "./pipeline/validate.js";
export { discoverFiles, splitFromName, isDatasetName, type DiscoveredFile, type DiscoverInput, type Discovery, type SkippedPath, type Split } from "./discover/discover.js";
export { prepare, splitDraw, type PrepareOptions, type Plan, type PlannedFile, type SourcePlan, type OutputKind, type SourceStatus } from "./pipeline/prepare.js";
export { ShardWriter, shardName, SHARD_STATE_FILE, type WrittenFile, type ShardWriterOptions } from "./guard/shard-writer.js";
export { PROVIDER_FILE_LIMIT, PROVIDER_UPLOAD_LIMIT, MULTIPART_MARGIN, defaultMaxFileBytes, type Provider } from "./guard/limits.js";
export { parseByteSize, formatBytes } from "./guard/size.js";
export { DigestSet } from "./validate/digest-set.js";
export { WorkerError } from "./workers/pool.js";
export { defaultWorkers, MIN_PARALLEL_BYTES, RANGE_BYTES } from "./workers/validate.js";
export { startServer, DEFAULT_STORE, ListenError, type ServerOptions, type RunningServer, type RequestLogEntry } from "./server/server.js";
export type { Faults } from "./server/faults.js";
export { run, DEFAULT_OUT_DIR, type RunOptions, type RunResult } from "./pipeline/run.js";
export { openTarget, resolveTarget, embeddedTarget, type Target, type TargetOptions, type ResolvedTarget } from "./pipeline/target.js";
export { uploadFiles, remoteName, type UploadItem, type UploadEvent, type UploaderOptions, type UploadSummary } from "./upload/uploader.js";
export { retryDelay, isRetryable, DEFAULT_RETRY_POLICY, type RetryPolicy } from "./upload/retry-policy.js";
export { readManifest, writeManifest, newManifest, checkManifest, findUploaded, ManifestJournal, journalPath, DEFAULT_MANIFEST, MANIFEST_VERSION, type Manifest, type ManifestFile, type ManifestSource } from "./manifest/manifest.js";
export { MistralProvider, MISTRAL_BASE_URL } from "./providers/mistral.js";
export { OpenAIProvider, OPENAI_BASE_URL, OPENAI_PART_BYTES } from "./providers/openai.js";
export { TogetherProvider, TOGETHER_BASE_URL, TOGETHER_SINGLE_UPLOAD_BYTES } from "./providers/together.js";
export type { FilesProvider, FilesProviderName, RemoteFile, UploadRequest, ProviderName } from "./providers/types.js";
export * from "./providers/errors.js";
export {
  createJob,
  jobRequest,
  jobState,
  needsStart,
  recordedJob,
  recordJobStatus,
  waitForJob,
  parseHyperparameters,
  retiredJobsMessage,
  endStatuses,
  type JobEvent,
  type JobSpec,
  type JobState,
  type CreateJobResult,
  type WaitOptions,
  type WaitOutcome,
} from "./jobs/jobs.js";
export { loadPipeline, pipelineRun, type PipelineFile } from "./pipeline/pipeline-file.js";
export type { JobsProvider, RemoteJob } from "./providers/types.js";
export { MISTRAL_HYPERPARAMETERS, OPENAI_HYPERPARAMETERS } from "./fine-tuning.js";
export { TOGETHER_HYPERPARAMETERS } from "./jobs/together.js";
export { PROVIDER_JOBS, providerJobs } from "./jobs/registry.js";
export type { ProviderJobs, JobFiles } from "./jobs/provider-jobs.js";
export { fixPaths, type FixOptions } from "./convert/fix.js";
export { convertPaths, type ConvertOptions } from "./convert/convert.js";
export { repairChatRecord, IdMinter, type ChatTarget, type RepairContext } from "./convert/repairs.js";
export { translate, detectSourceFormat, applyColumnMap, SOURCE_FORMATS, MAPPABLE_KEYS, type SourceFormat, type ColumnMap, type Translation } from "./convert/formats.js";
export { applyPolicies, defaultPolicies, POLICY_KINDS, type Policy, type Policies, type PolicyKind } from "./convert/policies.js";
export { ChangeLog, CHANGE_EXAMPLES, type ChangeCount } from "./convert/change-log.js";
export { readSource, sourceKind, outputName, type SourceItem, type SourceKind } from "./convert/source.js";
export { readParquetRows, ParquetError } from "./convert/parquet.js";
export type { RewriteSummary, RewrittenFile, RewriteOptions, CheckSummary, RecordTransform, TransformResult } from "./convert/rewrite.js";
export { renderReport, renderComparison } from "./report/render.js";
export { reportModel, kindOf, type ReportModel, type ReportKind } from "./report/model.js";
export { figuresBySplit, mergeFigures, FigureTally, type Figures } from "./validate/figures.js";
export { Histogram, type HistogramJson } from "./validate/histogram.js";
export type { Snippet } from "./validate/snippet.js";
export type { UploadOutcome } from "./upload/outcomes.js";
export { configureObjectStorage, objectStorage, statObject, readObject, listObjects } from "./storage/object-storage.js";
export { S3Client, ObjectChangedError, type ObjectInfo, type S3ClientOptions } from "./storage/s3-client.js";
export { resolveS3Config, type S3Config, type S3ConfigInput, type AwsCredentials } from "./storage/aws-config.js";
export { ObjectUpload } from "./storage/object-upload.js";
export { isObjectUrl, parseObjectUrl, joinLocation, type ObjectLocation } from "./storage/s3-url.js";
export { createShardPlan, readShardPlan, checkShardPlan, shardUnits, unitFile, unitId, lineBoundary, DEFAULT_UNIT_BYTES, PLAN_VERSION, type ShardPlan, type PlanUnit, type CreatePlanOptions } from "./plan/shard-plan.js";
export { mergeManifests, type NamedManifest } from "./manifest/merge.js";
export { enqueuePlan, runQueueWorker, queueStatus, checkQueueMessage, planId, DEFAULT_QUEUE_NAME, type QueueLocation, type QueueStatus, type QueueWorkerOptions, type WorkerEvent, type UnitMessage, type MergeMessage, type JobMessage } from "./queue/queue.js";
