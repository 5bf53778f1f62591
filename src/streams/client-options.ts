import type { IClientOptions } from "mqtt";
import type { BrokerCredentials } from "../discovery/broker-credentials.js";

/**
 * The mqtt.js options that carry a broker's credentials: user name and password, the CA
 * that signs the broker's certificate, and our client certificate for mutual TLS. Every
 * command builds its connection from this one function, so none of them drops a secret.
 */
export function credentialOptions(credentials: BrokerCredentials): IClientOptions {
  const options: IClientOptions = { rejectUnauthorized: true };
  if (credentials.username !== undefined) options.username = credentials.username;
  if (credentials.password !== undefined) options.password = credentials.password;
  if (credentials.ca !== undefined) options.ca = credentials.ca;
  if (credentials.cert !== undefined) options.cert = credentials.cert;
  if (credentials.key !== undefined) options.key = credentials.key;
  return options;
}
