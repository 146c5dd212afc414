#!/bin/sh
# Installs the gateway as a systemd service on Debian / Raspberry Pi OS, from this checkout:
#
#   sudo ./deploy/install.sh
#
# - code in /opt/mqtt-sn-gateway (this checkout is copied there unless it already is that directory);
#   production dependencies installed with `npm ci --omit=dev`
# - system user mqttsn (no login, no home), in group dialout for serial/XBee/Zigbee dongles
# - config in /etc/mqtt-sn-gateway/gateway.yaml (kept if it exists), with gateway.schema.json beside it
#   (refreshed on every run) for editors; state in /var/lib/mqtt-sn-gateway
# - the unit deploy/mqtt-sn-gateway.service, enabled and started
# Running it again updates the code and the unit and keeps the config.
set -eu

APP_DIR=/opt/mqtt-sn-gateway
CONFIG_DIR=/etc/mqtt-sn-gateway
STATE_DIR=/var/lib/mqtt-sn-gateway
UNIT=/etc/systemd/system/mqtt-sn-gateway.service
SERVICE_USER=mqttsn

if [ "$(id -u)" -ne 0 ]; then
  echo "install.sh: run as root (sudo ./deploy/install.sh)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "install.sh: Node.js 20 or later is needed: apt-get install nodejs npm" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  { echo "install.sh: Node.js $(node -v) is too old; 20 or later is needed" >&2; exit 1; }

SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
if [ "$SOURCE_DIR" != "$APP_DIR" ]; then
  mkdir -p "$APP_DIR"
  # The code only; node_modules is installed fresh below for this machine's architecture.
  tar -C "$SOURCE_DIR" --exclude=./node_modules --exclude=./.git --exclude=./state -cf - . | tar -C "$APP_DIR" -xf -
fi
(cd "$APP_DIR" && npm ci --omit=dev --no-audit --no-fund)

if ! id "$SERVICE_USER" >/dev/null 2>&1; then
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
fi
usermod -aG dialout "$SERVICE_USER"

mkdir -p "$CONFIG_DIR"
if [ ! -e "$CONFIG_DIR/gateway.yaml" ]; then
  # The shipped config, with its state kept where the unit lets it write.
  sed "s|^stateDir: .*|stateDir: $STATE_DIR|" "$APP_DIR/gateway.yaml" > "$CONFIG_DIR/gateway.yaml"
  echo "install.sh: wrote $CONFIG_DIR/gateway.yaml; edit it for your radios and broker"
fi
# gateway.yaml's first line points editors at ./gateway.schema.json: this code's schema, so keys added by an
# update are known there too.
install -m 0644 "$APP_DIR/gateway.schema.json" "$CONFIG_DIR/gateway.schema.json"
install -d -o "$SERVICE_USER" -g "$SERVICE_USER" -m 0750 "$STATE_DIR"

install -m 0644 "$APP_DIR/deploy/mqtt-sn-gateway.service" "$UNIT"
systemctl daemon-reload
systemctl enable mqtt-sn-gateway.service
systemctl restart mqtt-sn-gateway.service
echo "install.sh: running. Logs: journalctl -u mqtt-sn-gateway -f   Status page: http://127.0.0.1:8080/"
