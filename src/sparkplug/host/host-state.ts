import { encodeStatePayload, type HostState } from "../state.js";
import { type StateTopic, stateTopic } from "../topic.js";
import type { MessageHandler } from "./context.js";
import type { PublishCommand } from "./events.js";

/** The STATE birth (online) or death (offline) publish of our host id: QoS 1, retained. */
export function stateCommand(
  hostId: string,
  online: boolean,
  timestamp: number,
  broker?: string,
): PublishCommand {
  const command: PublishCommand = {
    kind: "publish",
    purpose: online ? "state-birth" : "state-death",
    topic: stateTopic(hostId),
    payload: encodeStatePayload(online, timestamp),
    qos: 1,
    retain: true,
  };
  if (broker !== undefined) command.broker = broker;
  return command;
}

/** The Will an MQTT connection must register at CONNECT: our STATE death with the connect time. */
export function stateWill(
  hostId: string,
  connectTime: number,
): { topic: string; payload: Uint8Array; qos: 1; retain: true } {
  return { topic: stateTopic(hostId), payload: encodeStatePayload(false, connectTime), qos: 1, retain: true };
}

/** The one broker we are connected to, if there is exactly one (a source that names no broker). */
function onlyBroker(brokers: ReadonlyMap<string, number>): string | undefined {
  return brokers.size === 1 ? brokers.keys().next().value : undefined;
}

/**
 * A STATE message. Other hosts are tracked (3.0 and 2.2 forms); an offline STATE older than
 * the host's last online one is a late Will and is ignored. Our own offline STATE delivered
 * after our birth (the previous session's retained death racing in) makes us publish our
 * birth again at once.
 */
export const handleHostState: MessageHandler<StateTopic, HostState, undefined> = (ctx) => {
  const { model, out, payload: state, now } = ctx;
  const { hostId, version } = ctx.topic;
  if (version === "3.0" && hostId === model.options.hostId) {
    // Our own death on a broker we are connected to (an old session's Will racing in): born again there.
    const broker = ctx.message.broker ?? onlyBroker(model.brokers);
    const willTimestamp = broker === undefined ? undefined : model.brokers.get(broker);
    if (!state.online && willTimestamp !== undefined && model.options.publishState) {
      out.command(stateCommand(hostId, true, willTimestamp, broker));
    }
    return;
  }
  const key = `${version}:${hostId}`;
  const known = model.hosts.get(key);
  if (
    !state.online &&
    known?.online === true &&
    known.timestamp !== undefined &&
    state.timestamp !== undefined &&
    state.timestamp < known.timestamp
  ) {
    out.emit({
      kind: "host-state-ignored",
      hostId,
      reason: `offline timestamp ${state.timestamp} is older than the online one (${known.timestamp})`,
    });
    return;
  }
  model.hosts.set(key, {
    hostId,
    version,
    online: state.online,
    timestamp: state.timestamp,
    receivedAt: now,
  });
  out.emit({ kind: "host-state", hostId, version, online: state.online, timestamp: state.timestamp });
};
