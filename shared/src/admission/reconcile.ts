import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { GraphStore } from '../ports/graph-store.js';
import type { VectorStore } from '../ports/vector-store.js';
import { parityOf } from '../report/report.js';
import type { Pipeline } from './pipeline.js';
import { contentTypeOf } from './inspect.js';

export type ProblemKind = 'ledger_missing' | 'generation_mismatch' | 'graph_missing' | 'drift';

export interface ReconcileProblem {
  readonly document_id: string;
  readonly source_uri: string;
  readonly kind: ProblemKind;
  /** Section ids involved (drift). */
  readonly missing_in_vector?: readonly string[];
  readonly missing_in_graph?: readonly string[];
  /** What --repair did. */
  repair?: 'ledger_rebuilt' | 'requeued' | 'cleared_for_reingest';
  job_id?: string;
}

export interface ReconcileReport {
  readonly tag: string;
  readonly documents: number;
  readonly repaired: boolean;
  readonly problems: ReconcileProblem[];
  readonly by_kind: Record<string, number>;
}

/**
 * Ledger ↔ graph ↔ vectors across a tag (DESIGN §10 `reconcile`). The graph is the record of what
 * completed; the ledger is rebuilt from it. Drifting documents are re-queued when their source can be
 * read here (file://), otherwise released so the next ingest of the source is admitted.
 */
export async function reconcile(deps: { pipeline: Pipeline; graph: GraphStore; vectors: VectorStore }, tag: string, repair: boolean | 'ledger'): Promise<ReconcileReport> {
  const ledger = deps.pipeline.ledger;
  const graphDocs = new Map((await deps.graph.listDocuments(tag)).map((d) => [d.id, d]));
  const ledgerIds = new Set(await ledger.documentsOfTag(tag));
  const problems: ReconcileProblem[] = [];

  for (const id of new Set([...graphDocs.keys(), ...ledgerIds])) {
    const g = graphDocs.get(id);
    const l = await ledger.get(id);
    if (l?.inFlight) continue; // a version is running: its verify decides
    if (g && g.completedGeneration !== null) {
      if (!l || l.completedGeneration === null) problems.push({ document_id: id, source_uri: g.sourceUri, kind: 'ledger_missing' });
      else if (l.completedGeneration !== g.completedGeneration) problems.push({ document_id: id, source_uri: g.sourceUri, kind: 'generation_mismatch' });
      const p = parityOf(await deps.graph.sectionHashes(id), await deps.vectors.points(id));
      if (p.drift_pct > 0) {
        problems.push({ document_id: id, source_uri: g.sourceUri, kind: 'drift', missing_in_vector: p.parity.missing_in_vector, missing_in_graph: p.parity.missing_in_graph });
      }
    } else if (l?.completedGeneration !== null && l?.completedGeneration !== undefined && !g) {
      problems.push({ document_id: id, source_uri: l.sourceUri, kind: 'graph_missing' });
    }
  }

  if (repair) {
    for (const p of problems) {
      const g = graphDocs.get(p.document_id);
      if ((p.kind === 'ledger_missing' || p.kind === 'generation_mismatch') && g?.completedGeneration) {
        await ledger.restoreCompleted({ documentId: g.id, tag, sourceUri: g.sourceUri, checksum: g.checksum, completedGeneration: g.completedGeneration, pipelineVersion: g.pipelineVersion ?? '' });
        p.repair = 'ledger_rebuilt';
      }
    }
    for (const p of problems) {
      if (repair === 'ledger' || (p.kind !== 'drift' && p.kind !== 'graph_missing')) continue;
      await ledger.forgetCompleted(p.document_id);
      const bytes = p.source_uri.startsWith('file://') ? await readFile(fileURLToPath(p.source_uri)).catch(() => null) : null;
      if (bytes) {
        const r = await deps.pipeline.submit({ bytes, sourceUri: p.source_uri, tag, contentType: contentTypeOf(p.source_uri), force: true });
        p.repair = 'requeued';
        p.job_id = r.job_id;
      } else {
        p.repair = 'cleared_for_reingest';
      }
    }
  }
  const by_kind: Record<string, number> = {};
  for (const p of problems) by_kind[p.kind] = (by_kind[p.kind] ?? 0) + 1;
  return { tag, documents: new Set([...graphDocs.keys(), ...ledgerIds]).size, repaired: repair !== false, problems, by_kind };
}
