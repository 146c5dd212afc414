/**
 * The Radio seam: a radio carries opaque MQTT-SN frames to and from peers. Nothing protocol-specific lives here.
 *
 * An address is an opaque, stable string naming a peer on one radio, prefixed by the radio kind,
 * e.g. `udp:127.0.0.1:50123`, `udp:[::1]:50123`, `serial:/dev/ttyACM0`, `xbee:0013a20040a1b2c3`,
 * `zigbee:0x00124b0012345678`. It survives a round trip through logs and YAML.
 */
export type RadioKind = 'udp' | 'serial' | 'xbee' | 'zigbee';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

/** What a radio reports to the gateway. Plain calls, no promises, on the hot path. */
export interface RadioSink {
  /** A frame arrived from `address`. `frame` is one whole MQTT-SN frame (or 0xFE encapsulation); may be a view. */
  frame(radio: Radio, address: string, frame: Buffer): void;
  /** One line for the operator: port missing, dongle unplugged, permission denied, frame refused... */
  log(level: LogLevel, message: string): void;
  /** Optional: the radio learned that a unicast frame was not delivered (XBee transmit status, Zigbee send failure). */
  deliveryFailed?(radio: Radio, address: string, reason: string): void;
}

export interface Radio {
  /** Name from the config (defaults to the kind plus an index, e.g. `udp0`); used in logs and client keys. */
  readonly name: string;
  readonly kind: RadioKind;
  /** Largest frame this link carries; the core never hands it a larger one. */
  readonly maxFrameSize: number;
  /** True while the link can carry frames (socket bound, port open, coordinator running): what a health check reports. */
  readonly up: boolean;
  /** Opens the link. Resolves once listening; if the device is missing it logs one line, retries with backoff, and still resolves. */
  start(sink: RadioSink): Promise<void>;
  stop(): Promise<void>;
  /** Sends one frame to one peer. Never throws for link errors: those go to sink.log / sink.deliveryFailed. */
  send(address: string, frame: Buffer): void;
  /** Sends one frame to every peer in range (ADVERTISE, GWINFO). */
  broadcast(frame: Buffer): void;
}
