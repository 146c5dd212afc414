/**
 * Predefined topic ids (§6.7), known in advance to client and gateway: global ones from
 * `topics.predefined`, and per-client ones from `topics.clients.<ClientId>.predefined` that override them.
 * A topic may be a template (`sensors/{clientId}/temperature`), expanded for the client that uses the id.
 */
import type { TopicsSection } from '../config/config-types.js';
import { type Expansion, isTemplate, type TopicAsker, TopicTemplate } from './topic-template.js';

/** One scope of ids (the global one, or one client's): concrete names looked up directly, templates expanded. */
class IdTable {
  readonly byId = new Map<number, string | TopicTemplate>();
  private readonly byName = new Map<string, number>();
  private readonly templates: [number, TopicTemplate][] = [];

  constructor(entries: Map<number, string>) {
    for (const [id, topic] of entries) {
      if (isTemplate(topic)) {
        const template = new TopicTemplate(topic);
        this.byId.set(id, template);
        this.templates.push([id, template]);
      } else {
        this.byId.set(id, topic);
        this.byName.set(topic, id);
      }
    }
  }

  lookup(asker: TopicAsker, id: number): Expansion | undefined {
    const entry = this.byId.get(id);
    if (entry === undefined) return undefined;
    return typeof entry === 'string' ? { topic: entry } : entry.expand(asker);
  }

  /** The id whose topic is `topic` for this asker; `allowed` skips ids shadowed elsewhere. */
  idOf(asker: TopicAsker, topic: string, allowed: (id: number) => boolean): number | undefined {
    const id = this.byName.get(topic);
    if (id !== undefined && allowed(id)) return id;
    for (const [templateId, template] of this.templates) {
      if (!allowed(templateId)) continue;
      const expanded = template.expand(asker);
      if ('topic' in expanded && expanded.topic === topic) return templateId;
    }
    return undefined;
  }
}

export class PredefinedTopics {
  private readonly global: IdTable;
  private readonly perClient = new Map<string, IdTable>();

  constructor(topics: TopicsSection) {
    this.global = new IdTable(topics.predefined);
    for (const [clientId, client] of topics.clients) this.perClient.set(clientId, new IdTable(client.predefined));
  }

  /**
   * The topic for a predefined id as this asker sees it (a QoS -1 sender has no ClientId): `{ topic }`,
   * `{ refused }` when a template cannot make a valid topic for it, undefined when the id is unknown.
   */
  lookup(asker: TopicAsker, id: number): Expansion | undefined {
    const own = asker.clientId === undefined ? undefined : this.perClient.get(asker.clientId)?.lookup(asker, id);
    return own ?? this.global.lookup(asker, id);
  }

  /** The topic name for a predefined id, or undefined when it is unknown or its template refuses this asker. */
  nameOf(asker: TopicAsker, id: number): string | undefined {
    const found = this.lookup(asker, id);
    return found && 'topic' in found ? found.topic : undefined;
  }

  /** The predefined id this client knows a topic by, if any. */
  idOf(asker: TopicAsker & { clientId: string }, topic: string): number | undefined {
    const own = this.perClient.get(asker.clientId);
    const id = own?.idOf(asker, topic, () => true);
    if (id !== undefined) return id;
    // A per-client id with the same number shadows the global one for this client.
    return this.global.idOf(asker, topic, (globalId) => !own?.byId.has(globalId));
  }
}
