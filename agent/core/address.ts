/** The port that tells the core which address this host registers (host/address-source.ts implements it). */

/** The address to register now, or why there is none. */
export interface AddressChoice {
  readonly address?: string;
  readonly interface?: string;
  readonly problem?: string;
}

/** Tells the address this host should register. */
export interface AddressSource {
  current(): Promise<AddressChoice>;
}
