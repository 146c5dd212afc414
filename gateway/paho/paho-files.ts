/**
 * Readers for the Eclipse Paho MQTT-SN gateway's configuration files (paho.mqtt-sn.embedded-c,
 * MQTTSNGateway): gateway.conf (`Key=Value` lines), the predefined topic list (`ClientId,TopicName,TopicId`)
 * and the client list (`ClientId,SensorNetAddress[,unstableLine][,secureConnection][,QoS-1][,forwarder]`).
 * Lines starting with `#` are comments, as in Paho.
 */

export interface PahoSetting { key: string; value: string; line: number }

/** gateway.conf: every `Key=Value` line, in file order. Paho tolerates a trailing `;`, so do we. */
export function parseGatewayConf(text: string): PahoSetting[] {
  const settings: PahoSetting[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) return;
    const value = line.slice(eq + 1).trim().replace(/;$/, '').trim();
    settings.push({ key: line.slice(0, eq).trim(), value, line: index + 1 });
  });
  return settings;
}

/** Paho's name for topics every client knows: `*` (current) or `COMMON` (older releases). */
export const COMMON_CLIENT = new Set(['*', 'COMMON']);

export interface PahoPredefinedTopic { clientId: string; topic: string; id: string; line: number }

/**
 * The predefined topic list. Paho deletes every blank and tab from a line before splitting it at commas,
 * so a topic name cannot hold a space there either.
 */
export function parsePredefinedTopics(text: string): PahoPredefinedTopic[] {
  return dataLines(text).flatMap(({ data, line }) => {
    const [clientId, topic, id] = data.split(',');
    return clientId === undefined || topic === undefined || id === undefined ? [] : [{ clientId, topic, id, line }];
  });
}

export interface PahoClient { clientId: string; address: string; flags: string[]; line: number }

export function parseClientsList(text: string): PahoClient[] {
  return dataLines(text).flatMap(({ data, line }) => {
    const [clientId, address, ...flags] = data.split(',');
    return clientId === undefined || address === undefined ? [] : [{ clientId, address, flags, line }];
  });
}

/** Non-comment lines with Paho's whitespace removal applied. */
function dataLines(text: string): { data: string; line: number }[] {
  return text.split(/\r?\n/).flatMap((raw, index) => {
    if (raw.startsWith('#')) return [];
    const data = raw.replace(/[\s\u3000]/g, '');
    return data === '' ? [] : [{ data, line: index + 1 }];
  });
}
