/**
 * Source bytes and stage outputs, addressed by key (DESIGN §2 "small jobs, big artifacts").
 * Keys are `<jobId>/<name>`; deleteJob removes every artifact of one job.
 */
export interface ArtifactStore {
  put(key: string, body: Uint8Array): Promise<void>;
  get(key: string): Promise<Uint8Array | null>;
  putJson(key: string, value: unknown): Promise<void>;
  getJson<T>(key: string): Promise<T | null>;
  deleteJob(jobId: string): Promise<void>;
}
