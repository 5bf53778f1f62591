import { ReasonCodes } from "mqtt";

/*
 * What a user is told about a broker connection: URLs without their secrets, and for each
 * way a connection fails, what to check or change.
 */

/** What to call a broker's MQTT 5 DISCONNECT in logs. */
export function disconnectReason(code: number | undefined): string {
  const hex = `0x${(code ?? 0).toString(16).toUpperCase().padStart(2, "0")}`;
  const name = (ReasonCodes as Record<number, string | undefined>)[code ?? 0];
  return `the broker sent DISCONNECT ${hex}${name ? ` (${name})` : ""}`;
}

/** A URL with any user info removed, for logs and properties. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = "";
    parsed.password = "";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url;
  }
}

/** What a user can do about a connection the broker refused or that failed. */
export function connectHint(error: string | undefined, clientId: string): string | undefined {
  if (error === undefined) return undefined;
  if (/identifier rejected|client identifier not valid/i.test(error))
    return `the broker rejected the client id "${clientId}": set clientId in discoveryDetails to a prefix it accepts`;
  if (/bad user ?name or password|bad authentication/i.test(error))
    return "check the MQTT_USERNAME / MQTT_PASSWORD discoveryProperties";
  if (/not authorized/i.test(error))
    return `the broker does not let this client in: check the MQTT_USERNAME / MQTT_PASSWORD discoveryProperties, and whether the broker restricts client ids (this one is "${clientId}"; set clientId in discoveryDetails)`;
  if (/connack timeout/i.test(error))
    return "the broker accepted the TCP connection but never answered CONNECT (a TLS listener reached with tcp://, or a proxy?)";
  if (/alert certificate required/i.test(error))
    return "the broker requires a client certificate: give MQTT_CLIENT_CERT and MQTT_CLIENT_KEY";
  if (/alert (unknown ca|bad certificate|certificate unknown|certificate expired)/i.test(error))
    return "the broker does not accept our client certificate (MQTT_CLIENT_CERT): it must be signed by a CA the broker trusts, and valid";
  if (
    /self.signed|unable to verify|local issuer|CERT_|altnames|certificate has expired|certificate is not yet valid/i.test(
      error,
    )
  )
    return "the broker's certificate is not trusted: check MQTT_CA_CERT and that the URL's host name is in the certificate";
  if (/ECONNREFUSED/.test(error)) return "nothing listens at this address";
  if (/ENOTFOUND|EAI_AGAIN/.test(error)) return "the host name does not resolve";
  return undefined;
}

/**
 * The hint after an MQTT 3.1.1 attempt made because the broker hung up on MQTT 5 also
 * failed: did the broker answer 3.1.1 (then the user should pin it), or hang up again?
 */
export function fallbackHint(attempt: {
  answered: boolean;
  hungUp: boolean;
  hint: string | undefined;
  lastError: string | undefined;
  /** Where the user sets the MQTT version, e.g. "mqttVersion in discoveryDetails". */
  mqttVersionSetting: string;
}): string {
  const pin = `set ${attempt.mqttVersionSetting} to 3`;
  if (attempt.answered)
    return `${attempt.hint ?? attempt.lastError}; the broker hung up on MQTT 5 but answers MQTT 3.1.1: ${pin}`;
  if (attempt.hungUp)
    return `the broker hung up without a CONNACK on MQTT 5 and on MQTT 3.1.1: is this an MQTT listener, and does it let this client in? If it speaks only MQTT 3.1.1, ${pin}`;
  return `${attempt.hint ?? attempt.lastError}; the broker hung up on MQTT 5 and MQTT 3.1.1 failed too. If it speaks only MQTT 3.1.1, ${pin}`;
}
