/**
 * Leniency for C clients that count the terminating NUL (strlen + 1) in a name field. Exactly one
 * trailing NUL is stripped from ClientId (CONNECT, PINGREQ), REGISTER/SUBSCRIBE/UNSUBSCRIBE topic names
 * and the will topic (WILLTOPIC, WILLTOPICUPD); a NUL anywhere else stays in the name, where the
 * handlers refuse it. It lives in the core, not the codec, so the codec stays an exact mirror of
 * the bytes (encode(decode(f)) = f) and the core can count what it forgave.
 */
import type { SnMessage } from '../../sn-codec/types.js';

function withoutTrailingNul(text: string): string | undefined {
  return text.length > 0 && text.charCodeAt(text.length - 1) === 0 ? text.slice(0, -1) : undefined;
}

/** The message with one trailing NUL stripped from its name field, or undefined when it has none. */
export function stripTrailingNul(message: SnMessage): SnMessage | undefined {
  switch (message.type) {
    case 'CONNECT': {
      const clientId = withoutTrailingNul(message.clientId);
      return clientId === undefined ? undefined : { ...message, clientId };
    }
    case 'PINGREQ': {
      const clientId = message.clientId === undefined ? undefined : withoutTrailingNul(message.clientId);
      if (clientId === undefined) return undefined;
      // A lone NUL is no ClientId at all: the keep-alive form of PINGREQ.
      return clientId === '' ? { type: 'PINGREQ' } : { type: 'PINGREQ', clientId };
    }
    case 'REGISTER': {
      const topicName = withoutTrailingNul(message.topicName);
      return topicName === undefined ? undefined : { ...message, topicName };
    }
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      if (message.topic.topicIdType !== 'normal') return undefined;
      const topicName = withoutTrailingNul(message.topic.topicName);
      return topicName === undefined ? undefined : { ...message, topic: { topicIdType: 'normal', topicName } };
    }
    case 'WILLTOPIC':
    case 'WILLTOPICUPD': {
      const willTopic = withoutTrailingNul(message.willTopic);
      return willTopic === undefined ? undefined : { ...message, willTopic };
    }
    default:
      return undefined;
  }
}
