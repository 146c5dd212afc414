/**
 * aedes's in-memory persistence finds the retained messages for a SUBSCRIBE by testing every retained
 * topic against the filter. The gateway's status topics keep one retained message per sensor, so with
 * 10,000 sensors each sensor's SUBSCRIBE scanned 10,000 topics and subscriptions fell minutes behind
 * (bench `crowd --broker=embedded`). A filter without wildcards names one topic: it is looked up here,
 * by topic; filters with wildcards still go to aedes's own scan, so their semantics stay aedes's.
 */
import { Readable } from 'node:stream';
import aedesPersistence, { type AedesMemoryPersistence } from 'aedes-persistence';

/** What of a retained PUBLISH the index reads (aedes's own packet type is a union of every packet kind). */
type Packet = { topic: string; payload: Buffer };
// A CommonJS module whose export is the factory itself; its typings declare it as a default export.
const memoryPersistence = aedesPersistence as unknown as () => AedesMemoryPersistence;

export interface IndexedRetainedPersistence {
  persistence: AedesMemoryPersistence;
  /** SUBSCRIBEs whose retained messages needed aedes's scan (a filter with a wildcard). */
  readonly scans: number;
}

const hasWildcard = (filter: string): boolean => filter.includes('+') || filter.includes('#');

export function indexedRetainedPersistence(): IndexedRetainedPersistence {
  const persistence = memoryPersistence();
  const byTopic = new Map<string, Packet>();
  const result = { persistence, scans: 0 };

  const storeRetained = persistence.storeRetained.bind(persistence) as (packet: Packet, cb?: (err?: Error | null) => void) => unknown;
  persistence.storeRetained = ((packet: Packet, cb?: (err?: Error | null) => void) => {
    // The same rule as aedes's memory store: an empty payload clears the topic's retained message.
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
    return storeRetained(packet, cb);
  }) as typeof persistence.storeRetained;

  const scanCombi = persistence.createRetainedStreamCombi.bind(persistence);
  persistence.createRetainedStreamCombi = (patterns: string[]) => {
    if (patterns.some(hasWildcard)) {
      result.scans++;
      return scanCombi(patterns);
    }
    return Readable.from(patterns.flatMap((topic: string) => byTopic.get(topic) ?? []));
  };
  // One filter is the one-element case of the above (aedes's own scan for one filter tests it the same way).
  persistence.createRetainedStream = (pattern: string) => persistence.createRetainedStreamCombi([pattern]);
  return result;
}
