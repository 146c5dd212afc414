/**
 * Who may do what: the one check the handlers ask before CONNECT, REGISTER, PUBLISH and SUBSCRIBE.
 * An interface, so the core knows no rule syntax; gateway/access/ implements it from gateway.yaml.
 */

/** A client as the access check sees it: its ClientId and where it speaks from. */
export interface Requester {
  clientId: string;
  /** The radio's name (udp0, zigbee1…). */
  radio: string;
  /** The sender's address on that radio (udp:192.168.1.20:50123, zigbee:0x00124b…). */
  address: string;
}

export interface AccessPolicy {
  mayConnect(who: Requester): boolean;
  /** A concrete topic name the client publishes to. */
  mayPublish(who: Requester, topic: string): boolean;
  /** A filter (or concrete name) the client subscribes to: allowed when every topic it matches is. */
  maySubscribe(who: Requester, filter: string): boolean;
  /** QoS -1 (§6.8) from a sender that never connected: it has no ClientId. */
  mayPublishAnonymously(radio: string, address: string, topic: string): boolean;
}

/** No rules configured: everyone may do everything, as before access rules existed. */
export const allowEverything: AccessPolicy = {
  mayConnect: () => true,
  mayPublish: () => true,
  maySubscribe: () => true,
  mayPublishAnonymously: () => true,
};
