// bloomfilter (Jason Davies) ships no types; the part this project uses.
declare module 'bloomfilter' {
  export class BloomFilter {
    /** `bits`: the filter's size in bits (rounded up to a multiple of 32); `hashes`: hash functions per value. */
    constructor(bits: number, hashes: number);
    add(value: string): void;
    /** False: certainly never added. True: probably added. */
    test(value: string): boolean;
  }
}
