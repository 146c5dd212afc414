/**
 * Predefined topic templates for fleets: `sensors/{clientId}/temperature` is one topic per client, so a
 * thousand sensors on one firmware can all publish with predefined id 1 and still land on their own topics.
 */
import { isValidTopicName } from './topics.js';

/** The placeholders a template may use, and where their values come from. */
export const PLACEHOLDERS = ['clientId', 'address'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** What a template is expanded for: the ClientId (none for a QoS -1 sender that never connected) and its address. */
export interface TopicAsker {
  clientId?: string;
  /** The sender's radio address (`udp:10.0.0.7:5000`, `xbee:0013a2…`), `:<node id hex>` appended behind a forwarder. */
  address?: string;
}

/** `{name}` in a predefined topic; any other brace text is literal. */
const PLACEHOLDER = /\{(\w*)\}/g;

export function isTemplate(topic: string): boolean {
  return /\{\w*\}/.test(topic);
}

/** The placeholders a topic names that the gateway does not know (for the config check). */
export function unknownPlaceholders(topic: string): string[] {
  return [...topic.matchAll(PLACEHOLDER)].map((m) => m[1]).filter((name) => !(PLACEHOLDERS as readonly string[]).includes(name));
}

export type Expansion = { topic: string } | { refused: string };

/** A template split once into literal text and placeholders, so expanding it per message is a join. */
export class TopicTemplate {
  private readonly parts: (string | { placeholder: Placeholder })[] = [];

  constructor(readonly source: string) {
    let last = 0;
    for (const match of source.matchAll(PLACEHOLDER)) {
      this.parts.push(source.slice(last, match.index));
      this.parts.push({ placeholder: match[1] as Placeholder });
      last = match.index + match[0].length;
    }
    this.parts.push(source.slice(last));
  }

  /** The topic for this asker, or why there is none (a missing value, or one that makes an invalid topic). */
  expand(asker: TopicAsker): Expansion {
    let topic = '';
    for (const part of this.parts) {
      if (typeof part === 'string') {
        topic += part;
        continue;
      }
      const value = asker[part.placeholder];
      if (value === undefined) return { refused: `{${part.placeholder}} is unknown for a sender that has not connected` };
      topic += value;
    }
    // A ClientId may hold '+', '#' or NUL: the result must still be a topic a client may publish to.
    if (!isValidTopicName(topic)) return { refused: `expands to ${JSON.stringify(topic)}, which is not a valid topic name` };
    return { topic };
  }
}
