/**
 * Where the heap's bytes go, by what they are and what holds them: a census of a V8 heap snapshot
 * (v8.getHeapSnapshot()), and the difference between two censuses divided by the sensors added in
 * between. Each heap object is counted under a label `what ← holder.field`: an object by its
 * constructor, a string as `string`, a hash table or backing array as `(array)`/`(system)`; its holder
 * is the first object that retains it, reached through at most a few internal arrays (so a Map's hash
 * table reads `(array) ← Map.table ← Session.topicIds`). First retainer only: shared things are counted
 * once, under whoever the snapshot lists first.
 *
 * Costs a snapshot (seconds, and the parse's garbage): run it apart from the figures it explains.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import v8 from 'node:v8';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface CensusEntry { count: number; bytes: number }
type Counts = Map<string, CensusEntry>;

/**
 * A census kept in a temporary file, not in the JavaScript heap: a later snapshot must not count the
 * earlier census among what grew.
 */
export class Census {
  private constructor(private readonly file: string) {}

  static of(counts: Counts): Census {
    const file = join(mkdtempSync(join(tmpdir(), 'heap-census-')), 'census.json');
    writeFileSync(file, JSON.stringify([...counts]));
    return new Census(file);
  }

  counts(): Counts {
    return new Map(JSON.parse(readFileSync(this.file, 'utf8')) as [string, CensusEntry][]);
  }

  discard(): void {
    rmSync(dirname(this.file), { recursive: true, force: true });
  }
}

/** Takes a heap snapshot of this process and counts it by label. */
export async function takeCensus(): Promise<Census> {
  const chunks: string[] = [];
  for await (const chunk of v8.getHeapSnapshot()) chunks.push(String(chunk));
  return Census.of(countsOf(JSON.parse(chunks.join('')) as Snapshot));
}

const STRING_TYPES = new Set(['string', 'concatenated string', 'sliced string']);
/** Edges that do not keep their target alive, or are the snapshot's own shortcuts. */
const NOT_RETAINING = new Set(['weak', 'shortcut']);
/** How many internal arrays/system objects a label climbs through to find the object that holds them. */
const HOLDER_DEPTH = 3;
/** Steps climbed at most, nested Maps included. */
const MAX_CLIMB = 64;
/** Holders too general to say what their content is for: the label names their own holder too. */
const CONTAINERS = new Set(['Map', 'Set', 'Array', 'Object']);

function countsOf(snap: Snapshot): Counts {
  const meta = snap.snapshot.meta;
  const nf = meta.node_fields.length;
  const ef = meta.edge_fields.length;
  const nodeTypes = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f));
  const [edgeTypeAt, edgeNameAt, toNodeAt] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f));
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;

  // First retaining edge of every node: its holder and the edge's name.
  const holder = new Int32Array(count).fill(-1);
  const via = new Array<string>(count);
  let e = 0;
  for (let n = 0; n < count; n++) {
    const edgeCount = nodes[n * nf + edgeCountAt];
    for (let k = 0; k < edgeCount; k++, e += ef) {
      const type = edgeTypes[edges[e + edgeTypeAt]];
      if (NOT_RETAINING.has(type)) continue;
      const to = edges[e + toNodeAt] / nf;
      if (holder[to] !== -1) continue;
      holder[to] = n;
      // Slots of arrays and hash tables by index would split one kind of thing over many labels.
      const name = type === 'element' || type === 'hidden' ? '' : String(strings[edges[e + edgeNameAt]]);
      via[to] = name === '' || /^\d+$/.test(name) ? '[]' : name;
    }
  }

  const kind = (n: number): string => {
    const type = nodeTypes[nodes[n * nf + typeAt]];
    if (STRING_TYPES.has(type)) return 'string';
    if (type === 'object' || type === 'closure' || type === 'regexp') return strings[nodes[n * nf + nameAt]];
    if (type === 'hidden' || type === 'object shape') return `(system ${strings[nodes[n * nf + nameAt]].replace(/^system \/ /, '')})`;
    return `(${type})`;
  };
  const isObject = (n: number): boolean => {
    const type = nodeTypes[nodes[n * nf + typeAt]];
    return type === 'object' || type === 'closure';
  };
  const census: Counts = new Map();
  for (let n = 0; n < count; n++) {
    // Climb until a holder that says what the thing is for: past internal arrays and plain containers.
    const segments: string[] = [];
    let at = n;
    for (let steps = 0; segments.length < HOLDER_DEPTH && holder[at] !== -1 && steps < MAX_CLIMB; steps++) {
      let up = holder[at];
      // The parts of a concatenated string: named by what holds the whole string.
      while (kind(up) === 'string' && holder[up] !== -1) up = holder[at = up];
      const segment = `${kind(up)}.${via[at]}`;
      // Nested Maps (a topic trie: Map → table → Map → table …) climbed as one step, up to their owner,
      // so that each trie is named by what holds it, not by how deep the node sits.
      const nested = segments.length >= 2 && segments[segments.length - 2] === segment;
      if (nested) segments.pop();
      else segments.push(segment);
      if (isObject(up) && !CONTAINERS.has(kind(up))) break;
      at = up;
    }
    const label = [kind(n), ...segments].join(' ← ');
    const entry = census.get(label) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += nodes[n * nf + sizeAt];
    census.set(label, entry);
  }
  return census;
}

export interface CensusLine { label: string; bytesPer: number; countPer: number }

/** What changed from `before` to `after`, per unit (per sensor added), largest change first. */
export function growth(beforeCensus: Census, afterCensus: Census, units: number, top: number): { lines: CensusLine[]; totalPer: number } {
  const before = beforeCensus.counts();
  const after = afterCensus.counts();
  const lines: CensusLine[] = [];
  let total = 0;
  for (const [label, a] of after) {
    const b = before.get(label) ?? { count: 0, bytes: 0 };
    const bytes = a.bytes - b.bytes;
    total += bytes;
    lines.push({ label, bytesPer: bytes / units, countPer: (a.count - b.count) / units });
  }
  for (const [label, b] of before) if (!after.has(label)) total -= b.bytes;
  // By size of the change either way: a thing listed under another holder than before shows as a pair (+x, -x).
  lines.sort((x, y) => Math.abs(y.bytesPer) - Math.abs(x.bytesPer));
  return { lines: lines.slice(0, top), totalPer: total / units };
}
