/**
 * The manufacturer-specific ZCL cluster that carries MQTT-SN frames over Zigbee (HA profile 0x0104):
 * one cluster-specific command 0x00 `frame` whose single parameter is an OCTET_STR holding one whole
 * MQTT-SN frame, the same in both directions. herdsman only decodes clusters it has a definition for,
 * so this definition is registered on every device (it is not kept in herdsman's database).
 */
import { Zcl, type Models } from 'zigbee-herdsman';

export type ZclClusterDefinition = Parameters<Models.Device['addCustomCluster']>[1];

/** Name herdsman reports in `message.cluster`; must not clash with a standard ZCL cluster name. */
export const MQTT_SN_CLUSTER_NAME = 'mqttSn';
export const MQTT_SN_FRAME_COMMAND = 'frame';
export const MQTT_SN_FRAME_COMMAND_ID = 0x00;
/** The Zigbee Home Automation profile; herdsman sends on it by default. */
export const HA_PROFILE_ID = 0x0104;

/** Defaults the config loader fills in for a `type: zigbee` radio. */
export const ZIGBEE_DEFAULTS = {
  /** First id of the manufacturer-specific range 0xFC00..0xFFFF. */
  clusterId: 0xfc00,
  /** 0xFFF1 is the first of the CSA's "test vendor" codes: ours to use without an assigned code. */
  manufacturerCode: 0xfff1,
  /** Endpoint on the sensor that hosts the cluster. */
  endpoint: 1,
  /** MQTT-SN 1.2 §7.4: 60 octets on ZigBee; herdsman does no APS fragmentation. */
  maxFrameSize: 60,
  permitJoin: 0,
} as const;

export function mqttSnCluster(clusterId: number, manufacturerCode: number): ZclClusterDefinition {
  const frame = {
    ID: MQTT_SN_FRAME_COMMAND_ID,
    name: MQTT_SN_FRAME_COMMAND,
    parameters: [{ name: 'frame', type: Zcl.DataType.OCTET_STR }],
  };
  return {
    ID: clusterId,
    name: MQTT_SN_CLUSTER_NAME,
    manufacturerCode,
    attributes: {},
    // Same command both ways: herdsman looks up `commands` for client→server, `commandsResponse` for server→client.
    commands: { [MQTT_SN_FRAME_COMMAND]: frame },
    commandsResponse: { [MQTT_SN_FRAME_COMMAND]: frame },
  };
}
