/**
 * The address at which containers on Docker's default bridge reach a server of this process,
 * worked out from `docker network inspect bridge` and this machine's addresses, with no engine
 * call of its own (so it is unit-tested against both shapes of that output).
 *
 * Docker records `IPAM.Config[].Gateway` in some setups and not in others (a daemon that created
 * docker0 itself, on a fresh machine, leaves it out): the subnet is always there, so the answer is
 *  1. this machine's own IPv4 address inside the subnet, when it has one it can see (docker0 on
 *     the engine's host while it is up; this container's address when the tests run in a container
 *     on that bridge, as in the dev container);
 *  2. else the recorded gateway;
 *  3. else the subnet's first host address, which is what Docker's IPAM gives the bridge when no
 *     gateway is configured (docker0 is down, and so unlisted, while no container is attached).
 */

/** The part of `docker network inspect bridge` used here. */
export interface BridgeNetwork {
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null } | null;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function ipv4ToNumber(address: string): number | undefined {
  const parts = IPV4.exec(address)?.slice(1).map(Number);
  if (!parts || parts.some((part) => part > 255)) return undefined;
  return parts.reduce((value, part) => value * 256 + part, 0);
}

function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

/** An IPv4 `a.b.c.d/n` as its network number and mask; undefined for IPv6 or anything else. */
function ipv4Subnet(cidr: string | undefined): { network: number; mask: number; prefix: number } | undefined {
  const [address, bits] = (cidr ?? '').split('/');
  const value = ipv4ToNumber(address ?? '');
  const prefix = Number(bits);
  if (value === undefined || !/^\d{1,2}$/.test(bits ?? '') || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { network: (value & mask) >>> 0, mask, prefix };
}

/**
 * The address containers on the bridge `network` reach this machine at. `localAddresses`: this
 * machine's IPv4 addresses (see `localIpv4Addresses`).
 */
export function bridgeHostAddress(network: BridgeNetwork, localAddresses: readonly string[]): string {
  const configs = (network.IPAM?.Config ?? []).flatMap((config) => {
    const subnet = ipv4Subnet(config.Subnet);
    return subnet ? [{ ...subnet, gateway: config.Gateway }] : [];
  });
  if (configs.length === 0) throw new Error(`the bridge network has no IPv4 subnet (IPAM.Config: ${JSON.stringify(network.IPAM?.Config ?? null)})`);
  const inside = (address: string, subnet: { network: number; mask: number }) => {
    const value = ipv4ToNumber(address);
    return value !== undefined && ((value & subnet.mask) >>> 0) === subnet.network;
  };
  for (const subnet of configs) {
    const local = localAddresses.find((address) => inside(address, subnet));
    if (local) return local;
  }
  for (const subnet of configs) if (subnet.gateway && inside(subnet.gateway, subnet)) return subnet.gateway;
  const usable = configs.find((subnet) => subnet.prefix <= 30);
  if (!usable) throw new Error(`the bridge network's subnets have no host addresses (IPAM.Config: ${JSON.stringify(network.IPAM?.Config)})`);
  return numberToIpv4(usable.network + 1);
}

/** The IPv4 addresses of `os.networkInterfaces()` (interfaces that are up), loopback left out. */
export function localIpv4Addresses(interfaces: NodeJS.Dict<{ address: string; family: string | number; internal: boolean }[]>): string[] {
  return Object.values(interfaces)
    .flatMap((addresses) => addresses ?? [])
    .filter((entry) => (entry.family === 'IPv4' || entry.family === 4) && !entry.internal)
    .map((entry) => entry.address);
}
