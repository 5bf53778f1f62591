/** A bad flag, argument or configuration: exit code 2 with a one-line reason. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** A runtime failure: exit code 1. */
export class RuntimeError extends Error {
  override readonly name = "RuntimeError";
}
