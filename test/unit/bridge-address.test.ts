import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bridgeHostAddress, localIpv4Addresses, type BridgeNetwork } from '../helpers/bridge-address.ts';

/** `docker network inspect bridge` where the engine records the gateway. */
const WITH_GATEWAY: BridgeNetwork = { IPAM: { Config: [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }] } };
/** The shape of issue #21 (a fresh machine): the subnet only. */
const WITHOUT_GATEWAY = JSON.parse('{"IPAM": {"Driver":"default","Options":null,"Config":[{"Subnet":"172.17.0.0/16"}]}}') as BridgeNetwork;

describe('the git server helper: this machine on the Docker bridge', () => {
  test('the recorded gateway, when the engine records one and docker0 is down (unlisted)', () => {
    assert.equal(bridgeHostAddress(WITH_GATEWAY, ['192.0.2.2']), '172.17.0.1');
    const custom = { IPAM: { Config: [{ Subnet: '10.99.0.0/16', Gateway: '10.99.3.254' }] } };
    assert.equal(bridgeHostAddress(custom, []), '10.99.3.254');
  });

  test('no Gateway key: the subnet first host address, which Docker gives the bridge', () => {
    assert.equal(bridgeHostAddress(WITHOUT_GATEWAY, ['192.0.2.2']), '172.17.0.1');
    assert.equal(bridgeHostAddress({ IPAM: { Config: [{ Subnet: '10.200.8.0/22' }] } }, []), '10.200.8.1');
    assert.equal(bridgeHostAddress({ IPAM: { Config: [{ Subnet: '10.200.9.7/22' }] } }, []), '10.200.8.1', 'host bits are masked');
  });

  test("this machine's own address inside the subnet comes first (docker0 up, or a container on the bridge)", () => {
    assert.equal(bridgeHostAddress(WITHOUT_GATEWAY, ['192.0.2.2', '172.17.0.1']), '172.17.0.1');
    // The dev container: its own address on the bridge, not the engine host's.
    assert.equal(bridgeHostAddress(WITHOUT_GATEWAY, ['172.17.0.5']), '172.17.0.5');
    assert.equal(bridgeHostAddress(WITH_GATEWAY, ['172.17.0.5']), '172.17.0.5');
    assert.equal(bridgeHostAddress(WITH_GATEWAY, ['172.18.0.1', '10.0.0.2']), '172.17.0.1', 'addresses outside the subnet are ignored');
  });

  test('IPv6 entries are skipped; no IPv4 subnet is an error naming what the engine said', () => {
    const dual = { IPAM: { Config: [{ Subnet: 'fd00:17::/64', Gateway: 'fd00:17::1' }, { Subnet: '172.17.0.0/16' }] } };
    assert.equal(bridgeHostAddress(dual, ['fd00:17::2']), '172.17.0.1');
    assert.throws(() => bridgeHostAddress({ IPAM: { Config: [{ Subnet: 'fd00:17::/64' }] } }, []), /^Error: the bridge network has no IPv4 subnet \(IPAM\.Config: \[\{"Subnet":"fd00:17::\/64"\}\]\)$/);
    assert.throws(() => bridgeHostAddress({ IPAM: { Config: null } }, []), /no IPv4 subnet \(IPAM\.Config: null\)/);
    assert.throws(() => bridgeHostAddress({}, []), /no IPv4 subnet/);
    assert.throws(() => bridgeHostAddress({ IPAM: { Config: [{ Subnet: '10.0.0.1/32' }] } }, []), /no host addresses/);
  });

  test('local addresses: IPv4 of os.networkInterfaces(), loopback left out', () => {
    const interfaces = {
      lo: [{ address: '127.0.0.1', family: 'IPv4', internal: true }],
      eth0: [
        { address: '192.0.2.2', family: 'IPv4', internal: false },
        { address: 'fd00::2', family: 'IPv6', internal: false },
      ],
      docker0: [{ address: '172.17.0.1', family: 4, internal: false }],
      gone: undefined,
    };
    assert.deepEqual(localIpv4Addresses(interfaces), ['192.0.2.2', '172.17.0.1']);
  });
});
