// A minimal VS Code extension package (.vsix), built at test time: there is
// no marketplace without internet, and code-server installs a local .vsix the
// same way on both runtimes. A .vsix is a zip of [Content_Types].xml,
// extension.vsixmanifest and extension/package.json; written here as a
// "stored" (uncompressed) zip so the suite needs no zip tool.
import { crc32 } from 'node:zlib';

export interface VsixId {
  publisher: string;
  name: string;
  version: string;
}

/** "publisher.name-version.vsix", vsce's file name, from which the checks read the id back. */
export const vsixFileName = (id: VsixId) => `${id.publisher}.${id.name}-${id.version}.vsix`;

/** publisher.name of a vsix file named as vsce names it (see vsixFileName), else undefined. */
export function vsixIdFromPath(file: string): string | undefined {
  const m = /([A-Za-z0-9-]+\.[A-Za-z0-9-]+)-[0-9][0-9A-Za-z.+-]*\.vsix$/.exec(file);
  return m?.[1];
}

function zipStored(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text, 'utf8');
    const fname = Buffer.from(name, 'utf8');
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time
    local.writeUInt16LE(0x21, 12); // date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(fname.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // version made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fname.length, 28);
    // extra, comment, disk, internal and external attributes: 0
    central.writeUInt32LE(offset, 42);
    locals.push(local, fname, data);
    centrals.push(central, fname);
    offset += local.length + fname.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  const n = Object.keys(files).length;
  end.writeUInt16LE(n, 8);
  end.writeUInt16LE(n, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** An extension that contributes nothing: enough for code-server to install and list it. */
export function buildVsix(id: VsixId): Buffer {
  const pkg = { name: id.name, publisher: id.publisher, version: id.version, displayName: `${id.name} (parity test)`, engines: { vscode: '*' } };
  return zipStored({
    '[Content_Types].xml':
      '<?xml version="1.0" encoding="utf-8"?>\n<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
      '<Default Extension=".json" ContentType="application/json"/><Default Extension=".vsixmanifest" ContentType="text/xml"/></Types>\n',
    'extension.vsixmanifest':
      '<?xml version="1.0" encoding="utf-8"?>\n<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011">' +
      `<Metadata><Identity Language="en-US" Id="${id.name}" Version="${id.version}" Publisher="${id.publisher}"/>` +
      `<DisplayName>${id.name}</DisplayName><Description xml:space="preserve">parity test extension</Description></Metadata>` +
      '<Installation><InstallationTarget Id="Microsoft.VisualStudio.Code"/></Installation><Dependencies/>' +
      '<Assets><Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json" Addressable="true"/></Assets></PackageManifest>\n',
    'extension/package.json': `${JSON.stringify(pkg, null, 2)}\n`,
  });
}
