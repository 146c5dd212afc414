// aedes-persistence's in-memory store itself (the class its default export wraps); the package's typings
// for it sit in types/, where TypeScript does not look for a deep import's .d.ts.
declare module 'aedes-persistence/asyncPersistence.js' {
  import type { Readable } from 'node:stream';

  class MemoryPersistence {
    constructor(opts?: { broadcastSubscriptions?: boolean });
    readonly broker: unknown;
    setup(broker: unknown): Promise<void>;
    storeRetained(packet: object): Promise<void>;
    createRetainedStream(pattern: string): Readable;
    createRetainedStreamCombi(patterns: string[]): Readable;
    addSubscriptions(client: { id: string }, subs: object[]): Promise<void>;
    removeSubscriptions(client: { id: string }, topics: string[]): Promise<void>;
    subscriptionsByClient(client: { id: string }): Promise<object[]>;
    countOffline(): Promise<{ subsCount: number; clientsCount: number }>;
    subscriptionsByTopic(topic: string): Promise<object[]>;
    outgoingEnqueueCombi(subs: { clientId: string }[], packet: object): Promise<void>;
    cleanSubscriptions(client: { id: string }): Promise<void>;
    getClientList(topic: string): Readable;
    destroy(): Promise<void>;
  }
  export default MemoryPersistence;
}

// qlobber (the topic trie aedes and aedes-persistence match with) ships no typings: what we use of it.
declare module 'qlobber' {
  interface QlobberOptions { separator?: string; wildcard_one?: string; wildcard_some?: string; match_empty_levels?: boolean }
  export class Qlobber<T = unknown> {
    constructor(options?: QlobberOptions);
    add(topic: string, value: T): this;
    remove(topic: string, value?: T): this;
    match(topic: string): T[];
    clear(): this;
    /** Its trie: a Map per level (word → the next level's Map); the separator's key holds a filter's values. */
    get_trie(): Map<string, unknown>;
  }
  export class QlobberTrue {
    constructor(options?: QlobberOptions);
    add(topic: string): this;
    test(topic: string): boolean;
  }
}
