export type { Arrival, ProcessedMessage, TimelineEntry } from "./context.js";
export * from "./events.js";
export * from "./host-session.js";
export { stateCommand, stateWill } from "./host-state.js";
export * from "./model.js";
export * from "./options.js";
export { RebirthPolicy } from "./rebirth-policy.js";
