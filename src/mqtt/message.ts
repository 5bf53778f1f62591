/**
 * One MQTT message as every source hands it to the pipeline: live brokers, fixture
 * replay and tests alike. `at` is the receive time (ms since epoch); in replay it is the
 * recorded time, which is what makes replay deterministic.
 */
export interface MqttMessage {
  topic: string;
  payload: Uint8Array;
  qos: 0 | 1 | 2;
  retain: boolean;
  at: number;
  /** Which broker (set) delivered it, when the source knows. */
  broker?: string;
}
