import type { EmbeddingsArtifact } from '@ingest/shared';

/** Bytes of vectors base64-encoded per step: a multiple of 3, so the pieces join into one valid base64 text. */
const BASE64_STEP = 3 * 16 * 1024;

/**
 * Writes `JSON.stringify(artifact)` of the embed stage's artifact as UTF-8 (the same bytes, key order
 * included) straight into one buffer of the exact size, the vectors base64-encoded batch by batch as they
 * arrive (at most 2 bytes carried to the next batch). For the 3 MB bench document (9,213 vectors × 384
 * dimensions) the base64 text is 19 MB: putJson held it three times over (the base64 string, the JSON string
 * and its Buffer), and the 14 MB Float32Array of all vectors besides. Now the buffer is all there is.
 */
export class EmbeddingsArtifactWriter {
  private readonly out: Buffer;
  private at: number;
  private carry: Uint8Array = new Uint8Array(0);
  private floats = 0;

  constructor(private readonly meta: Omit<EmbeddingsArtifact, 'data'>) {
    const head = `${JSON.stringify({ embeddingVersion: meta.embeddingVersion, dimensions: meta.dimensions, ids: meta.ids }).slice(0, -1)},"data":"`;
    const dataBytes = meta.ids.length * meta.dimensions * 4;
    this.out = Buffer.allocUnsafe(Buffer.byteLength(head, 'utf8') + 4 * Math.ceil(dataBytes / 3) + 2);
    this.at = this.out.write(head, 0, 'utf8');
  }

  /** The next vectors, laid end to end (`dimensions` floats each, in the order of `ids`). */
  add(vectors: Float32Array): void {
    let bytes = new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength);
    if (this.carry.length > 0) {
      const joined = new Uint8Array(this.carry.length + bytes.length);
      joined.set(this.carry);
      joined.set(bytes, this.carry.length);
      bytes = joined;
    }
    const whole = bytes.length - (bytes.length % 3);
    this.encode(bytes.subarray(0, whole));
    this.carry = bytes.slice(whole);
    this.floats += vectors.length;
  }

  /** The artifact's bytes; throws unless every vector of `ids` was added. */
  finish(): Buffer {
    if (this.floats !== this.meta.ids.length * this.meta.dimensions) {
      throw new Error(`EmbeddingsArtifactWriter: ${this.floats} floats for ${this.meta.ids.length} × ${this.meta.dimensions}`);
    }
    this.encode(this.carry);
    this.carry = new Uint8Array(0);
    this.at += this.out.write('"}', this.at, 'latin1');
    if (this.at !== this.out.length) throw new Error(`EmbeddingsArtifactWriter: wrote ${this.at} of ${this.out.length} bytes`);
    return this.out;
  }

  private encode(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i += BASE64_STEP) {
      const piece = Buffer.from(bytes.buffer, bytes.byteOffset + i, Math.min(BASE64_STEP, bytes.length - i));
      this.at += this.out.write(piece.toString('base64'), this.at, 'latin1');
    }
  }
}

/** The artifact's bytes for vectors already packed end to end. */
export function embeddingsArtifactBytes(meta: Omit<EmbeddingsArtifact, 'data'>, packed: Float32Array): Buffer {
  const writer = new EmbeddingsArtifactWriter(meta);
  writer.add(packed);
  return writer.finish();
}
