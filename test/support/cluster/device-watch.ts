/*
 * A tokio `watch` channel of one Discover stream's device list, as
 * NetworkEndpoint::handle_stream feeds it (agent/src/discovery_handler_manager/
 * registration_socket.rs): each DiscoverResponse replaces the list (send_replace); the
 * stream ending drops the sender, which its receiver sees as closed after the last list.
 * Dropping the receiver (the request gave the stream up) makes handle_stream return, and
 * the gRPC call is cancelled.
 */

export interface DiscoveredDevice {
  id: string;
  properties: Record<string, string>;
  /** From the endpoint's registration: SharedDevice or LocalDevice(node). */
  shared: boolean;
  node: string;
}

export class DeviceWatch {
  private list: DiscoveredDevice[] = [];
  private closedFlag = false;
  private readonly listeners = new Set<() => void>();
  private onDropped: (() => void) | undefined;

  /** The latest list (borrow()). */
  get devices(): DiscoveredDevice[] {
    return this.list;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** send_replace: the new list, and every receiver woken. */
  replace(devices: DiscoveredDevice[]): void {
    if (this.closedFlag) return;
    this.list = devices;
    for (const listener of this.listeners) listener();
  }

  /** The sender dropped: receivers see the channel closed. */
  close(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const listener of this.listeners) listener();
  }

  /** Called on every change or on close (the receiver's changed()). */
  subscribe(listener: () => void): void {
    this.listeners.add(listener);
  }

  /** What the sender does once no receiver is left (sender.closed() in handle_stream). */
  whenDropped(action: () => void): void {
    this.onDropped = action;
  }

  /** The receiver is dropped. */
  drop(): void {
    this.listeners.clear();
    this.onDropped?.();
  }
}
