import type { EntityKind, QueryAnswer } from '@ingest/shared';

/**
 * The interface the MCP tools talk through (DESIGN §9): in the dashboard it is backed by the Runtime
 * (mcp-runtime-backend.ts), in `ingestctl mcp` by the REST API (the CLI never opens the embedded stores).
 */

export interface SectionRef {
  readonly id: string;
  readonly title: string;
}

export interface SectionDetail {
  readonly section_id: string;
  readonly document_id: string;
  readonly source_uri: string;
  readonly tag: string;
  readonly document_title: string;
  /** Null only when the stored text could not be read back (see mcp-runtime-backend.ts). */
  readonly title: string | null;
  readonly heading_path: readonly string[] | null;
  readonly text: string | null;
  readonly parent: SectionRef | null;
  readonly previous: SectionRef | null;
  readonly next: SectionRef | null;
  readonly entities: readonly { id: string; kind: EntityKind; name: string }[];
}

export interface DocumentSummary {
  readonly document_id: string;
  readonly source_uri: string;
  readonly tag: string;
  readonly title: string;
  /** The generation the graph holds. */
  readonly generation: number;
  /** The generation whose job ended DONE; null while the first version is still in flight. */
  readonly completed_generation: number | null;
  /** Ledger status of the document's latest job (DONE, PENDING, FAILED, …); UNKNOWN without a ledger entry. */
  readonly status: string;
}

export interface OutlineEntry {
  readonly section_id: string;
  readonly ordinal: number;
  readonly title: string;
  readonly heading_path: readonly string[];
  /** 0 at the top level, parent depth + 1 below. */
  readonly depth: number;
  readonly parent_id: string | null;
}

export interface DocumentDetail extends DocumentSummary {
  readonly pipeline_version: string | null;
  readonly sections: readonly OutlineEntry[];
}

/** What the four tools need; every method throws McpBackendError for an answer that is not a crash. */
export interface McpBackend {
  search(query: string, options: { tag?: string; limit: number }): Promise<QueryAnswer>;
  getSection(sectionId: string): Promise<SectionDetail>;
  listDocuments(tag?: string): Promise<DocumentSummary[]>;
  getDocument(sourceUri: string, tag?: string): Promise<DocumentDetail>;
}

/** Reason codes of tool errors (and of the REST routes behind `ingestctl mcp`). */
export const MCP_ERROR_CODES = ['INVALID_ARGUMENT', 'NOT_FOUND', 'AMBIGUOUS', 'UNAUTHORIZED', 'UNAVAILABLE', 'INTERNAL'] as const;
export type McpErrorCode = (typeof MCP_ERROR_CODES)[number];

export class McpBackendError extends Error {
  constructor(readonly code: McpErrorCode, message: string) {
    super(message);
    this.name = 'McpBackendError';
  }
}

export const MCP_SEARCH_MAX_LIMIT = 50;
export const MCP_SEARCH_DEFAULT_LIMIT = 5;
