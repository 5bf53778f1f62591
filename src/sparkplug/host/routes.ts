import type { DeviceTopic, EdgeTopic, Verb } from "../topic.js";
import { type AnyNodeContext, hasNode, isDeviceMessage, type MessageHandler } from "./context.js";
import { handleData } from "./data.js";
import { handleDeviceBirth, handleUnprovenDeviceBirth } from "./device-birth.js";
import { handleDeviceDeath } from "./device-death.js";
import { getNode } from "./host-model.js";
import type { EdgeNode } from "./model.js";
import { handleNodeBirth, handleUnprovenNodeBirth } from "./node-birth.js";
import { handleNodeCommand } from "./node-command.js";
import { handleNodeDeath } from "./node-death.js";

/** A handler whose node the session may not know (NDEATH, commands). */
type AnyNodeHandler = (ctx: AnyNodeContext) => void;

/** How each verb is taken: the one table from an edge message's verb to its handler. */
export type Route =
  /** It carries the node's seq: ordering hands it over in seq order, its node made by then. */
  | { readonly via: "ordering"; readonly handle: MessageHandler; readonly unproven?: AnyNodeHandler }
  /** Taken as it comes; retained, it is of unknown age: only a birth (`unproven`) teaches from it. */
  | { readonly via: "direct"; readonly handle: AnyNodeHandler; readonly unproven?: AnyNodeHandler }
  /** A command: taken as it comes, retained or not. */
  | { readonly via: "command"; readonly handle: AnyNodeHandler; readonly unproven?: never };

/** For a handler that needs its node: it is made (unknown, not born) if the session does not know it. */
function onItsNode(handler: MessageHandler): AnyNodeHandler {
  return (ctx) => {
    ctx.node ??= getNode(ctx.model, ctx.topic.group, ctx.topic.edge);
    if (hasNode(ctx)) handler(ctx);
  };
}

/** A device verb's handler: its topic is a device's (the parser makes it so). */
function forDevice<Node extends EdgeNode | undefined>(
  handler: MessageHandler<DeviceTopic, AnyNodeContext["payload"], Node>,
): MessageHandler<EdgeTopic, AnyNodeContext["payload"], Node> {
  return (ctx) => {
    if (isDeviceMessage(ctx)) handler(ctx);
  };
}

export const ROUTES: { readonly [V in Verb]: Route } = {
  NBIRTH: { via: "direct", handle: onItsNode(handleNodeBirth), unproven: onItsNode(handleUnprovenNodeBirth) },
  NDEATH: { via: "direct", handle: handleNodeDeath },
  NCMD: { via: "command", handle: handleNodeCommand },
  // A command to a device changes nothing the host tracks.
  DCMD: { via: "command", handle: () => {} },
  DBIRTH: {
    via: "ordering",
    handle: forDevice(handleDeviceBirth),
    unproven: onItsNode(forDevice(handleUnprovenDeviceBirth)),
  },
  DDEATH: { via: "ordering", handle: forDevice(handleDeviceDeath) },
  NDATA: { via: "ordering", handle: handleData },
  DDATA: { via: "ordering", handle: handleData },
};
