// The test extension is only useful if it is a zip code-server accepts and its
// id can be read back from its file name (the extensions check expects that id).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildVsix, vsixFileName, vsixIdFromPath } from '../vsix.ts';

const id = { publisher: 'gitspace-parity', name: 'parity-ext', version: '0.0.1' };

describe('vsix', () => {
  it('names the file as vsce does and reads the id back', () => {
    expect(vsixFileName(id)).toBe('gitspace-parity.parity-ext-0.0.1.vsix');
    expect(vsixIdFromPath('/home/vscode/default/.devcontainer/gitspace-parity.parity-ext-0.0.1.vsix')).toBe('gitspace-parity.parity-ext');
    expect(vsixIdFromPath('/x/ext.vsix')).toBeUndefined();
  });

  it('is a zip with the three entries a .vsix needs, intact', () => {
    const buf = buildVsix(id);
    expect(buf.subarray(0, 4)).toEqual(Buffer.from([0x50, 0x4b, 0x03, 0x04]));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vsix-'));
    const file = path.join(dir, vsixFileName(id));
    writeFileSync(file, buf);
    let listing: string;
    try {
      listing = execFileSync('unzip', ['-t', file], { encoding: 'utf8' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // no unzip here: the header check above stands
      throw err;
    }
    for (const entry of ['[Content_Types].xml', 'extension.vsixmanifest', 'extension/package.json']) expect(listing).toContain(`testing: ${entry}`);
    expect(listing).toContain('No errors detected');
    const pkg = JSON.parse(execFileSync('unzip', ['-p', file, 'extension/package.json'], { encoding: 'utf8' })) as Record<string, string>;
    expect(`${pkg.publisher}.${pkg.name}`).toBe(vsixIdFromPath(file));
  });
});
