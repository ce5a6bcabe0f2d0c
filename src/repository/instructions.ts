/**
 * What a user pastes on a host to subscribe to a channel: the key, an apt sources line or a .repo
 * file, and the commands to install, upgrade and go back after a rollback. Written to INSTALL.md
 * at the repository's root (and the .repo files beside their repositories) once its URL is known.
 */
import { listChannels, parseChannelKey, type RepositoryState } from './channels.ts';

export const KEYRING_FILE = 'keyring.gpg';
export const ARMORED_KEY_FILE = 'keyring.asc';

const base = (url: string) => url.replace(/\/+$/, '');

export function aptSourcesLine(state: RepositoryState, url: string, dist: string, channel: string): string {
  return `deb [signed-by=/etc/apt/keyrings/${state.name}.gpg] ${base(url)}/apt ${dist} ${channel}`;
}

/** An apt preferences entry making the repository's versions win, older or not. */
export function aptPin(state: RepositoryState): string {
  return `printf 'Package: *\\nPin: release o=${state.name}\\nPin-Priority: 1001\\n'`;
}

export function repoFileName(state: RepositoryState, channel: string): string {
  return `${state.name}-${channel}.repo`;
}

/** The .repo file of one channel. gpgcheck (package signatures) only when every package in it is signed. */
export function repoFile(state: RepositoryState, url: string, dist: string, channel: string): string {
  const ids = state.channels[`rpm/${dist}/${channel}`] ?? [];
  const signed = ids.length > 0 && ids.every((id) => state.packages[id]!.signed);
  return [
    `[${state.name}-${channel}]`,
    `name=${state.name} ${channel} (${dist})`,
    `baseurl=${base(url)}/rpm/${dist}/${channel}`,
    'enabled=1',
    // The signed repodata holds every package's sha256: unsigned packages are still pinned by it.
    'repo_gpgcheck=1',
    `gpgcheck=${signed ? 1 : 0}`,
    `gpgkey=${base(url)}/${ARMORED_KEY_FILE}`,
    '',
  ].join('\n');
}

/** Downgrade commands after a rollback, per format. */
export function downgradeCommand(format: 'deb' | 'rpm', app: string, version: string): string {
  return format === 'deb'
    ? // confdef/confold: config files the admin edited are kept without a prompt, as on an upgrade.
      `sudo apt-get update && sudo apt-get install -y --allow-downgrades -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${app}=${version}`
    : `sudo dnf downgrade -y ${app}   # or: sudo dnf distro-sync -y ${app}`;
}

export function installInstructions(state: RepositoryState, url: string): string {
  const keys = Object.keys(state.channels).sort().map(parseChannelKey);
  const apps = [...new Set(listChannels(state).flatMap((listing) => listing.packages.map((pkg) => pkg.name)).filter((name) => !name.startsWith('ndist-node-')))];
  const app = apps[0] ?? '<app>';
  const lines = [`# Installing from the ${state.name} repository`, '', `Served from ${base(url)}. Signed with key ${state.key ?? '?'}.`, ''];
  const debs = keys.filter((key) => key.format === 'deb');
  if (debs.length) {
    lines.push('## apt (Debian, Ubuntu)', '', 'Pick the line for the host\'s release and the channel to follow:', '', '```sh');
    lines.push('sudo install -d -m 0755 /etc/apt/keyrings');
    lines.push(`sudo wget -qO /etc/apt/keyrings/${state.name}.gpg ${base(url)}/${KEYRING_FILE}   # or: curl -fsSLo …`);
    for (const { dist, channel } of debs) lines.push(`echo '${aptSourcesLine(state, url, dist, channel)}' | sudo tee /etc/apt/sources.list.d/${state.name}.list`);
    lines.push(`sudo apt-get update && sudo apt-get install -y ${app}`, '```', '');
    lines.push('Upgrade with `sudo apt-get update && sudo apt-get upgrade`. After `ndist rollback`, go back with', `\`sudo apt-get install -y --allow-downgrades ${app}=<version>\` (ndist rollback prints the exact command).`, '');
    lines.push('To have hosts follow the channel exactly, rollbacks included, pin the repository above 1000;', '`sudo apt-get update && sudo apt-get upgrade -y --allow-downgrades` then also downgrades:', '', '```sh');
    lines.push(`${aptPin(state)} | sudo tee /etc/apt/preferences.d/${state.name}`, '```', '');
  }
  const rpms = keys.filter((key) => key.format === 'rpm');
  if (rpms.length) {
    lines.push('## dnf / yum (Fedora, RHEL and its rebuilds, Amazon Linux)', '', '```sh');
    for (const { dist, channel } of rpms) lines.push(`sudo curl -fsSLo /etc/yum.repos.d/${repoFileName(state, channel)} ${base(url)}/rpm/${dist}/${repoFileName(state, channel)}   # ${dist}, ${channel}`);
    lines.push(`sudo dnf install -y ${app}`, '```', '');
    lines.push('Upgrade with `sudo dnf upgrade`. After `ndist rollback`: `sudo dnf downgrade ' + app + '` (or `sudo dnf distro-sync ' + app + '`).', '');
  }
  lines.push(`The armored key, for other tools: ${base(url)}/${ARMORED_KEY_FILE}`, '');
  return lines.join('\n');
}
