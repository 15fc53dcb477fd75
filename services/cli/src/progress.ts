import { STAGES, STATUS_OF_STAGE, type JobStatus } from '@ingest/shared';

const ORDER: readonly JobStatus[] = ['PENDING', ...STAGES.map((s) => STATUS_OF_STAGE[s])];
let drawnLines = 0;

/** Live per-stage bars on a TTY: how many jobs of the batch are past each stage. */
export function renderProgress(statuses: readonly JobStatus[], stream: NodeJS.WriteStream = process.stderr): void {
  const total = statuses.length;
  const position = (s: JobStatus) => { const i = ORDER.indexOf(s); return i < 0 ? ORDER.length : i; };
  const lines = STAGES.map((stage) => {
    const stageIndex = ORDER.indexOf(STATUS_OF_STAGE[stage]);
    const past = statuses.filter((s) => position(s) > stageIndex).length;
    const width = 30;
    const filled = total === 0 ? width : Math.round((past / total) * width);
    return `${stage.padEnd(8)} ${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${past}/${total}`;
  });
  const ended: Record<string, number> = {};
  for (const s of statuses) if (position(s) === ORDER.length) ended[s] = (ended[s] ?? 0) + 1;
  lines.push(`ended    ${Object.entries(ended).map(([k, v]) => `${k} ${v}`).join(', ') || '—'}`);
  if (drawnLines > 0) stream.write(`\x1b[${drawnLines}A`);
  stream.write(lines.map((l) => `\x1b[2K${l}\n`).join(''));
  drawnLines = lines.length;
}
