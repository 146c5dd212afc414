/**
 * Builds the radios named in gateway.yaml. Each kind is loaded only when configured, so a UDP-only
 * gateway never loads serialport or zigbee-herdsman.
 */
import type { SerialBinding } from './serial-port.js';
import type { RadioConfig } from '../gateway/config-types.js';
import type { Radio } from './radio.js';

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
