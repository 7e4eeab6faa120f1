/** The port that tells the core which address this host registers (host/address-source.ts implements it). */

/** The address to register now, or why there is none. */
export interface AddressChoice {
  readonly address?: string;
  readonly interface?: string;
  readonly problem?: string;
  /** Auto mode only: true when the address is a VPN interface's (the state records it), false when it is not; absent with --host-ip or --interface. */
  readonly vpn?: boolean;
}

/** Tells the address this host should register. */
export interface AddressSource {
  current(): Promise<AddressChoice>;
  /**
   * Auto mode: this host registered the address of this VPN interface before (the state says
   * so, e.g. across a restart), so while no VPN interface is up it waits for one instead of
   * falling back to the default route. Ignored with --host-ip or --interface.
   */
  preferVpn?(iface: string): void;
}
