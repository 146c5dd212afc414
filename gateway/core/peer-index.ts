/**
 * Sessions by where they speak from: by radio, then by address (with the Wireless Node Id behind a
 * forwarder, §5.5). Nested rather than keyed by one joined string: a sensor speaking directly is found
 * by its address string itself, the one its session's link already holds, so 10,000 sensors need no
 * 10,000 joined copies (issue 13), and a frame's lookup joins no strings.
 */
import type { Session } from './session.js';

/** Where a session is found on its radio: the address, `|<node id hex>` appended behind a forwarder. */
export function addressKey(address: string, nodeIdHex: string | undefined): string {
  return nodeIdHex === undefined ? address : address + '|' + nodeIdHex;
}

export class PeerIndex {
  private readonly byRadio = new Map<string, Map<string, Session>>();

  get(radio: string, key: string): Session | undefined {
    return this.byRadio.get(radio)?.get(key);
  }

  set(radio: string, key: string, session: Session): void {
    let sessions = this.byRadio.get(radio);
    if (!sessions) this.byRadio.set(radio, (sessions = new Map()));
    sessions.set(key, session);
  }

  delete(radio: string, key: string): void {
    this.byRadio.get(radio)?.delete(key);
  }

  *[Symbol.iterator](): IterableIterator<[radio: string, key: string, session: Session]> {
    for (const [radio, sessions] of this.byRadio) for (const [key, session] of sessions) yield [radio, key, session];
  }

  get size(): number {
    let n = 0;
    for (const sessions of this.byRadio.values()) n += sessions.size;
    return n;
  }
}
