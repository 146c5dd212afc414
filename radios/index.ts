/**
 * Builds the radios named in gateway.yaml. Each kind is loaded only when configured, so a UDP-only
 * gateway never loads serialport or zigbee-herdsman.
 */
import type { SerialBinding } from './serial-port.js';
import type { SerialRadioConfig } from './serial.js';
import type { UdpRadioConfig } from './udp.js';
import type { XBeeRadioConfig } from './xbee.js';
import type { ZigbeeRadioConfig } from './zigbee.js';
import type { Radio } from './radio.js';

/** One entry of gateway.yaml's `radios:` list; each radio module defines its own. */
export type RadioConfig = UdpRadioConfig | SerialRadioConfig | XBeeRadioConfig | ZigbeeRadioConfig;

export interface RadioFactoryOptions {
  /** serialport binding for serial and XBee radios (tests pass @serialport/binding-mock). */
  serialBinding?: SerialBinding;
  /** Where radios keep state (Zigbee network key). */
  stateDir?: string;
}

export async function createRadio(config: RadioConfig, options: RadioFactoryOptions = {}): Promise<Radio> {
  switch (config.type) {
    case 'udp': {
      const { UdpRadio } = await import('./udp.js');
      return new UdpRadio(config);
    }
    case 'serial': {
      const { SerialRadio } = await import('./serial.js');
      return new SerialRadio(config, { binding: options.serialBinding });
    }
    case 'xbee': {
      const { XBeeRadio } = await import('./xbee.js');
      return new XBeeRadio(config, { binding: options.serialBinding });
    }
    case 'zigbee': {
      const { ZigbeeRadio } = await import('./zigbee.js');
      return new ZigbeeRadio(config, { stateDir: options.stateDir });
    }
  }
}
