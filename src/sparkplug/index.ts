export * from "./arrays.js";
export * from "./datatype.js";
export * from "./decode.js";
export * from "./encode.js";
export * from "./metric-table.js";
export * from "./payload.js";
export * from "./state.js";
export * from "./topic.js";
