import { codeBlockFindings, orderedSteps, sectionFindings, type Finding } from './heuristics.js';
import { resolveLink } from './references.js';
import { scanSection } from './section-scan.js';
import {
  documentId as documentIdOf,
  globalEntityId,
  isEntityKind,
  normaliseName,
  scopedEntityId,
  type EntityKind,
  type EntityRecord,
  type MentionRecord,
  type ReferenceRecord,
  type SectionRecord,
  type StepRecord,
} from './shared.js';

export interface ExtractInput {
  readonly documentId: string;
  readonly sourceUri: string;
  readonly tag: string;
  readonly sections: readonly SectionRecord[];
  readonly links: readonly { sectionId: string; url: string }[];
}

export interface ExtractOptions {
  /** Program names that mark inline code as a command (config/ingest.yaml). */
  readonly programs: readonly string[];
}

export interface ExtractResult {
  entities: EntityRecord[];
  mentions: MentionRecord[];
  steps: StepRecord[];
  references: ReferenceRecord[];
}

export const MAX_ENTITY_NAME = 200;
export const MAX_STEP_NAME = 120;

/**
 * Sections → entities, mentions, procedure steps and references (DESIGN §5 extract), by transparent
 * heuristics over the section text @ingest/parse produced. Pure: the result depends on this document and
 * the configured program names only.
 *
 * Commands (kind Command, id globalEntityId('Command', name)); the name is the program word alone
 *  (`redis-cli`, also for `git clone …` → `git`), path prefixes dropped (`./src/redis-server` → `redis-server`),
 *  wrappers skipped (sudo, env, time, nohup, exec, nice, doas, command), leading KEY=value skipped:
 *  - every command of every logical line in ```sh/bash/shell/zsh/ksh/fish blocks (lines joined at `\`,
 *    split at unquoted ; && || |, comments and heredoc bodies skipped); in ```console/shell-session/terminal
 *    blocks, or shell blocks that show prompts, only prompt lines;
 *  - prompt lines (`$ `, `> `, `redis> `, `host:port> `, `user@host:~$ `) in any other code block;
 *  - inline code whose first word is a program in opts.programs or one found above anywhere in this
 *    document (compared case-folded).
 *  Shell syntax words and a few ubiquitous builtins (cd, echo, export, set, source, …) are not commands.
 * Parameters (kind Parameter, id globalEntityId('Parameter', name)):
 *  - `--flag` words of those command lines and command inline code, named `--flag` (value and command
 *    dropped, so `redis-cli --tls` and `redis-server --tls` mention the same `--tls`); short `-x` flags
 *    are ignored (too ambiguous);
 *  - `KEY=value` words with an UPPER_SNAKE key (env assignments, `export K=v`, `make BUILD_TLS=yes`), named KEY;
 *  - inline code that starts with a --flag or KEY=value;
 *  - top-level keys of ```yaml/yml blocks (unindented `key:` lines) and ```json blocks (keys of the
 *    outermost object); `key = value` / `key: value` lines of ```ini/toml/cfg/conf/properties/env blocks;
 *  - inline code that is one dotted key (`cluster.node.timeout`), unless it ends like a file or host name
 *    (`redis.conf`, `packages.redis.io`);
 *  - the first column of tables whose first header cell is Parameter/Option/Name/Key/Setting/Flag/
 *    Variable/Argument/Field/Property/Directive (and plurals); code spans in the cell if any, else the cell.
 * Procedures: the left-margin ordered list items of a section under a heading (all of them, in order,
 *  so a list broken by a paragraph or code block continues) form one Procedure when there are at least
 *  two: named after the heading title (without a part suffix), id scopedEntityId(sectionId, 'Procedure',
 *  title); each item is a Step (id scopedEntityId(sectionId, 'Step', order), name = its first line, at most
 *  120 characters), with StepRecords order 1..n. The section mentions the procedure (count 1), not the steps.
 * Mentions: one MentionRecord per (section, entity) with the number of occurrences.
 * References: see references.ts; de-duplicated per (section, target).
 * Names are trimmed and capped at 200 characters; empty names are dropped; entities are de-duplicated by
 * id (the first spelling wins); kinds are checked against ENTITY_KINDS.
 */
export function extractEntities(input: ExtractInput, opts: ExtractOptions): ExtractResult {
  const entities = new Map<string, EntityRecord>();
  const mentions: MentionRecord[] = [];
  const steps: StepRecord[] = [];

  // Pass 1: programs of this document's own code blocks.
  const docPrograms = new Set<string>();
  for (const s of input.sections) {
    for (const block of scanSection(s.text).code) codeBlockFindings(block, [], docPrograms);
  }
  const known = new Set<string>([...opts.programs, ...docPrograms].map(normaliseName));
  const isKnown = (p: string): boolean => known.has(normaliseName(p));

  const addEntity = (kind: EntityKind, id: string, rawName: string): EntityRecord | null => {
    const name = capName(rawName, kind === 'Step' ? MAX_STEP_NAME : MAX_ENTITY_NAME);
    if (name === '' || normaliseName(name) === '' || !isEntityKind(kind)) return null;
    const existing = entities.get(id);
    if (existing) return existing;
    const e: EntityRecord = { id, kind, name };
    entities.set(id, e);
    return e;
  };

  for (const section of input.sections) {
    const counts = new Map<string, number>();
    const found: Finding[] = sectionFindings(section.text, isKnown, new Set());
    for (const f of found) {
      const name = capName(f.name, MAX_ENTITY_NAME);
      if (name === '') continue;
      const e = addEntity(f.kind, globalEntityId(f.kind, name), name);
      if (e) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
    }

    if (section.level > 0) {
      const items = orderedSteps(section.text).map((n) => capName(n, MAX_STEP_NAME));
      if (items.length >= 2) {
        const title = section.headingPath[section.headingPath.length - 1] ?? section.title;
        const procedure = addEntity('Procedure', scopedEntityId(section.id, 'Procedure', title), title);
        if (procedure) {
          counts.set(procedure.id, (counts.get(procedure.id) ?? 0) + 1);
          items.forEach((name, i) => {
            const order = i + 1;
            const step = addEntity('Step', scopedEntityId(section.id, 'Step', order), name === '' ? `Step ${order}` : name);
            if (step) steps.push({ procedureId: procedure.id, stepId: step.id, order });
          });
        }
      }
    }
    for (const [entityId, count] of counts) mentions.push({ sectionId: section.id, entityId, count });
  }

  return { entities: [...entities.values()], mentions, steps, references: references(input) };
}

function capName(raw: string, max: number): string {
  const name = raw.replace(/\u0000/g, '').replace(/\s+/g, ' ').trim();
  const cps = Array.from(name);
  if (cps.length <= max) return name;
  return max === MAX_STEP_NAME ? cps.slice(0, max - 1).join('').trimEnd() + '…' : cps.slice(0, max).join('').trimEnd();
}

function references(input: ExtractInput): ReferenceRecord[] {
  const sectionIds = new Set(input.sections.map((s) => s.id));
  const byAnchor = new Map<string, string>();
  const byAnchorFolded = new Map<string, string>();
  for (const s of input.sections) {
    if (s.anchor === '') continue;
    if (!byAnchor.has(s.anchor)) byAnchor.set(s.anchor, s.id);
    const folded = s.anchor.toLowerCase();
    if (!byAnchorFolded.has(folded)) byAnchorFolded.set(folded, s.id);
  }
  const out: ReferenceRecord[] = [];
  const seen = new Set<string>();
  for (const link of input.links) {
    if (!sectionIds.has(link.sectionId)) continue;
    const target = resolveLink(link.url, input.sourceUri);
    if (!target) continue;
    let ref: ReferenceRecord | null = null;
    if (target.kind === 'Section') {
      const id = byAnchor.get(target.anchor) ?? byAnchorFolded.get(target.anchor.toLowerCase());
      if (id) ref = { sectionId: link.sectionId, targetKind: 'Section', targetId: id };
    } else {
      ref = { sectionId: link.sectionId, targetKind: 'Document', targetId: documentIdOf(input.tag, target.sourceUri) };
    }
    if (!ref) continue;
    const key = `${ref.sectionId}\u0000${ref.targetKind}\u0000${ref.targetId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(ref);
  }
  return out;
}
