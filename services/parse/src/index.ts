/** @ingest/parse — Markdown → sections (DESIGN §5 parse). Public API. */
export { parseMarkdown, titleFromUri } from './parse-markdown.js';
export { ParsePool, PARSE_POOL_DEFAULTS } from './parse-pool.js';
export { parseInWorker, closeParsePools } from './shared-pools.js';
export type { ParsePoolOptions, ParseJobOptions } from './parse-pool.js';
export { PARSE_DEFAULTS } from './types.js';
export type { ParseOptions, ParsedDocument, ParsedLink, SerialisedParse } from './types.js';
export { splitFrontMatter, MAX_FRONT_MATTER_BYTES } from './front-matter.js';
export type { FrontMatter } from './front-matter.js';
export { stripGeneratorMarkup } from './generator-markup.js';
export { countTokens } from './text-util.js';
export { parseStage, type ParseDeps, type ParseResult } from './parse.stage.js';
export { startParseWorker } from './worker.js';
