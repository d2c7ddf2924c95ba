// /etc/passwd and /etc/group as an image ships them. Read, never executed:
// the user model is resolved from these files, not from getent in a container.
import { UserError } from './cli.ts';

export type PasswdEntry = { name: string; uid: number; gid: number; home: string; shell: string };
export type GroupEntry = { name: string; gid: number; members: string[] };

function records(text: string, file: string, fields: number, what: string): Array<{ parts: string[]; line: number }> {
  const out: Array<{ parts: string[]; line: number }> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    // Blank lines, comments and NIS compat entries (+/-) name no local account.
    if (line.trim() === '' || line.startsWith('#') || /^[+-]/.test(line)) return;
    const parts = line.split(':');
    if (parts.length !== fields) throw new UserError(`${file}:${i + 1}: expected ${fields} fields (${what}), found ${parts.length}`);
    out.push({ parts, line: i + 1 });
  });
  return out;
}

function id(text: string, file: string, line: number, field: string): number {
  if (!/^[0-9]+$/.test(text)) throw new UserError(`${file}:${line}: ${field} ${JSON.stringify(text)} is not a number`);
  return Number(text);
}

export function parsePasswd(text: string, file = '/etc/passwd'): PasswdEntry[] {
  return records(text, file, 7, 'name:password:uid:gid:gecos:home:shell').map(({ parts, line }) => ({
    name: parts[0],
    uid: id(parts[2], file, line, 'uid'),
    gid: id(parts[3], file, line, 'gid'),
    home: parts[5],
    shell: parts[6],
  }));
}

export function parseGroup(text: string, file = '/etc/group'): GroupEntry[] {
  return records(text, file, 4, 'name:password:gid:members').map(({ parts, line }) => ({
    name: parts[0],
    gid: id(parts[2], file, line, 'gid'),
    members: parts[3] ? parts[3].split(',') : [],
  }));
}
