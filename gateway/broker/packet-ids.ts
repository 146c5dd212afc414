/**
 * One MQTT packet-id space for the broker connection, shared by two owners: the gateway's own QoS 1
 * publishes (written pre-encoded, see mqtt-upstream.ts) and mqtt.js (its subscribes, unsubscribes,
 * QoS 2 publishes and the status topic), so an id is never in flight for both at once. mqtt.js takes
 * its ids through `forMqttJs`, its messageIdProvider; mqtt.js clears its own ids on every CONNACK,
 * which must not free the gateway's (they are still awaiting their PUBACK and will be resent).
 */
import type { IClientOptions } from 'mqtt';

type IMessageIdProvider = NonNullable<IClientOptions['messageIdProvider']>;

const FREE = 0;
const OURS = 1;
const MQTT_JS = 2;
const MAX_ID = 0xffff;

export class PacketIds {
  /** Owner of each id (index = id; 0 unused). */
  private readonly owner = new Uint8Array(MAX_ID + 1);
  private next = 1;
  private last: number | null = null;
  /** Ids held by the gateway's own publishes. */
  ownInUse = 0;
  /** Ids held by mqtt.js: its clear() at every CONNACK (the first included) has nothing to free when none. */
  private mqttJsInUse = 0;

  /** A free id for the gateway's own publish; undefined when all 65,535 are in flight. */
  allocate(): number | undefined {
    return this.take(OURS) ?? undefined;
  }

  release(id: number): void {
    if (this.owner[id] === OURS) {
      this.owner[id] = FREE;
      this.ownInUse--;
    }
  }

  /** What mqtt.js is given as its messageIdProvider: the same space, its own share. */
  readonly forMqttJs: IMessageIdProvider = {
    allocate: () => this.take(MQTT_JS),
    getLastAllocated: () => this.last,
    register: (id) => {
      if (this.owner[id] !== FREE) return this.owner[id] === MQTT_JS;
      this.owner[id] = MQTT_JS;
      this.mqttJsInUse++;
      return true;
    },
    deallocate: (id) => {
      if (this.owner[id] === MQTT_JS) {
        this.owner[id] = FREE;
        this.mqttJsInUse--;
      }
    },
    // A pass over all 65,535 ids when mqtt.js holds none would be the daemon's only hot loop right after start-up:
    // enough for V8 to optimize it with TurboFan, whose code then stays resident (about 3 MB of idle RSS, issue 13).
    clear: () => {
      if (this.mqttJsInUse === 0) return;
      for (let id = 1; id <= MAX_ID; id++) if (this.owner[id] === MQTT_JS) this.owner[id] = FREE;
      this.mqttJsInUse = 0;
    },
  };

  /** Next free id after the last one handed out (ids rotate, so a late answer never meets a fresh reuse). */
  private take(owner: number): number | null {
    for (let tries = 0; tries < MAX_ID; tries++) {
      const id = this.next;
      this.next = id === MAX_ID ? 1 : id + 1;
      if (this.owner[id] === FREE) {
        this.owner[id] = owner;
        if (owner === OURS) this.ownInUse++;
        else this.mqttJsInUse++;
        this.last = id;
        return id;
      }
    }
    return null;
  }
}
