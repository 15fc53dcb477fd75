import v8 from 'node:v8';

/**
 * V8's `--max-semi-space-size` is process-wide and, where set, overrides the young generation an isolate
 * is given in `resourceLimits`. The compute processes start with 4 MB semi-spaces (stage-children.ts: it
 * keeps their main thread small), and so a parse thread ran with a 12 MB young generation whatever
 * maxYoungGenerationSizeMb said: the 3 MB document parsed in 2.4-2.9 s instead of 1.7-2.0, its pieces'
 * trees promoted before they died. The flag is read when an isolate is created, so clearing it before
 * each thread starts leaves the main thread's nursery as it was and lets the thread's limit apply.
 */
export function letThreadSizeItsNursery(): void {
  v8.setFlagsFromString('--max-semi-space-size=0');
}
