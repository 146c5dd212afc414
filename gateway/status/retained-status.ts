/**
 * The embedded broker's retained messages of the status topics `<prefix>clients/<ClientId>`, rendered
 * from the gateway's sessions when a subscriber asks rather than stored as published (issue 13: about
 * 285 B a sensor in the gateway's process). What a later subscriber gets is the client's state now, the
 * fields of clientStatusPayload: the state of the last message published on the topic, with lastSeen,
 * buffered and dropped as they are at that moment. A forgotten session has none, as its cleared topic had.
 * With an external broker the broker keeps what was published, as before.
 */
import type { GatewayCore } from '../core/core.js';
import { mayMatchOneLevelUnder, type RetainedSource } from '../broker/retained-source.js';
import { clientStatusPayload, clientStatusTopic } from './status-publisher.js';

/** The ClientId a status topic's level names: the inverse of clientStatusTopic's percent-encoding. */
function decodedLevel(level: string): string {
  return level.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

export class RetainedStatusSource implements RetainedSource {
  private readonly clientsPrefix: string;
  private readonly clientsPrefixLevels: string[];

  constructor(
    private readonly core: GatewayCore,
    private readonly prefix: string,
  ) {
    this.clientsPrefix = `${prefix}clients/`;
    this.clientsPrefixLevels = this.clientsPrefix.slice(0, -1).split('/');
  }

  owns(topic: string): boolean {
    return topic.startsWith(this.clientsPrefix) && topic.indexOf('/', this.clientsPrefix.length) === -1;
  }

  mayMatch(filter: string): boolean {
    return mayMatchOneLevelUnder(filter, this.clientsPrefixLevels);
  }

  payload(topic: string): Buffer | undefined {
    const clientId = decodedLevel(topic.slice(this.clientsPrefix.length));
    // A level that decodes to a ClientId but is not how that ClientId's topic is written (e.g. `%41` for `A`) is not its topic.
    if (clientStatusTopic(this.prefix, clientId) !== topic) return undefined;
    const json = clientStatusPayload(this.core, clientId);
    return json === undefined ? undefined : Buffer.from(json);
  }

  *topics(): IterableIterator<string> {
    for (const clientId of this.core.clientIds()) yield clientStatusTopic(this.prefix, clientId);
  }
}
