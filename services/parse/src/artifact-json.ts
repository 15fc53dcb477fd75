import type { ParsedDocument } from './types.js';

/**
 * The parse stage's artifact, `JSON.stringify({title, description, tags, sections, links})` as UTF-8 (the
 * same bytes), written into one buffer of the exact size a section or link at a time: a 3 MB document's
 * sections are a 6.6 MB JSON text (twice that when it holds any non-Latin-1 character), which whole would
 * sit next to its bytes at the parse's peak. Each element is stringified twice (first to size the buffer),
 * ~50 ms for 9,213 sections. The buffer is its own ArrayBuffer, so it can be transferred.
 */
export function artifactJson(doc: ParsedDocument): Uint8Array {
  const head = `${JSON.stringify({ title: doc.title, description: doc.description, tags: doc.tags }).slice(0, -1)},"sections":[`;
  const middle = '],"links":[';
  const tail = ']}';
  const lists: readonly (readonly unknown[])[] = [doc.sections, doc.links];
  let size = Buffer.byteLength(head) + Buffer.byteLength(middle) + Buffer.byteLength(tail);
  for (const list of lists) {
    for (let i = 0; i < list.length; i++) size += Buffer.byteLength(JSON.stringify(list[i])) + (i > 0 ? 1 : 0);
  }
  const out = new Uint8Array(size);
  const encoder = new TextEncoder();
  let at = 0;
  const put = (s: string) => {
    at += encoder.encodeInto(s, out.subarray(at)).written;
  };
  put(head);
  lists.forEach((list, n) => {
    if (n === 1) put(middle);
    for (let i = 0; i < list.length; i++) put(i > 0 ? `,${JSON.stringify(list[i])}` : JSON.stringify(list[i]));
  });
  put(tail);
  if (at !== size) throw new Error(`artifactJson: wrote ${at} bytes of ${size}`);
  return out;
}
