/**
 * Predefined topic ids (§6.7), known in advance to client and gateway: global ones from
 * `topics.predefined`, and per-client ones from `topics.clients.<ClientId>.predefined` that override them.
 */
import type { TopicsSection } from '../config/config-types.js';

export class PredefinedTopics {
  private readonly global: Map<number, string>;
  private readonly globalByName = new Map<string, number>();
  private readonly perClient = new Map<string, { byId: Map<number, string>; byName: Map<string, number> }>();

  constructor(topics: TopicsSection) {
    this.global = topics.predefined;
    for (const [id, name] of this.global) this.globalByName.set(name, id);
    for (const [clientId, client] of topics.clients) {
      const byName = new Map<string, number>();
      for (const [id, name] of client.predefined) byName.set(name, id);
      this.perClient.set(clientId, { byId: client.predefined, byName });
    }
  }

  /** The topic name for a predefined id, as this client sees it (QoS -1 senders have no ClientId). */
  nameOf(clientId: string | undefined, id: number): string | undefined {
    if (clientId !== undefined) {
      const name = this.perClient.get(clientId)?.byId.get(id);
      if (name !== undefined) return name;
    }
    return this.global.get(id);
  }

  /** The predefined id this client knows a topic by, if any. */
  idOf(clientId: string, topic: string): number | undefined {
    const own = this.perClient.get(clientId);
    if (own) {
      const id = own.byName.get(topic);
      if (id !== undefined) return id;
    }
    const id = this.globalByName.get(topic);
    // A per-client id with the same number shadows the global one for this client.
    if (id !== undefined && own?.byId.has(id)) return undefined;
    return id;
  }
}
