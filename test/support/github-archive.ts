/**
 * A repository archive as GitHub's tarball endpoint (codeload) serves it: a gzip'd tar with a pax
 * global header carrying the commit, like `git archive`, and one `<owner>-<repo>-<sha7>/` directory.
 */
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

export async function gitHubArchive(
  owner: string,
  repo: string,
  sha: string,
  files: Record<string, string | Buffer>,
  options: { symlinks?: Record<string, string>; /** false: no pax global header (an archive that does not name its commit). */ paxComment?: boolean } = {},
): Promise<Buffer> {
  const pack = tar.pack();
  const top = `${owner}-${repo}-${sha.slice(0, 7)}`;
  const chunks: Buffer[] = [];
  pack.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  const add = (header: Partial<tar.Header> & { name: string }, content?: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const callback = (error?: Error | null): void => (error ? reject(error) : resolve());
      if (content === undefined) pack.entry(header, callback);
      else pack.entry(header, content, callback);
    });
  // tar-stream cannot write a pax global header: pack it as a file and retype it below.
  const pax = options.paxComment !== false;
  if (pax) await add({ name: 'pax_global_header', type: 'file', mode: 0o666, mtime: new Date(0) }, Buffer.from(`52 comment=${sha}\n`));
  await add({ name: `${top}/`, type: 'directory' });
  for (const [path, content] of Object.entries(files)) {
    const body = Buffer.from(content);
    await add({ name: `${top}/${path}`, type: 'file', size: body.length, mode: 0o644 }, body);
  }
  for (const [path, target] of Object.entries(options.symlinks ?? {})) {
    await add({ name: `${top}/${path}`, type: 'symlink', linkname: target });
  }
  pack.finalize();
  await done;
  const tarball = Buffer.concat(chunks);
  if (pax) retypeAsPaxGlobalHeader(tarball.subarray(0, 512));
  return gzipSync(tarball);
}

/** Sets a ustar header block's typeflag to `g` (pax global header) and recomputes its checksum. */
function retypeAsPaxGlobalHeader(block: Buffer): void {
  block.write('g', 156, 'latin1');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
