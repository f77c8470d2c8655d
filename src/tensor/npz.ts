/**
 * NumPy .npz archives: a zip of .npy members (what `numpy.savez` and `numpy.savez_compressed`
 * write, and what python/syncbn_capture.py writes, with a `manifest.json` beside them).
 *
 * The zip container is read by fflate (`unzipSync`, a small, dependency-free, widely used package
 * that handles stored and deflated members and zip64 records, which `numpy.savez` always writes);
 * this module adds what it does not check, so the reader is as strict as the .npy reader:
 * - every member's CRC-32 is checked against the central directory (fflate does not: a flipped
 *   bit in a stored member would otherwise pass unseen);
 * - only stored (0) and deflated (8) members are accepted, anything else is refused by name;
 * - every member must be an `.npy` (parsed by {@link parseNpy}, so every .npy rule holds, the
 *   error naming `archive:member`) or `manifest.json`; directory entries are skipped;
 * - duplicate member names are refused (a zip may hold two entries of one name; which one wins
 *   would be the reader's accident).
 * Every problem is an InputError with one line starting with the archive's label.
 */
import { unzipSync } from 'fflate';
import { argumentError, checkString } from '../args.js';
import { InputError, requireInput } from '../errors.js';
import { readInputFile } from '../io/read-input-file.js';
import { parseNpy } from './npy.js';
import type { Tensor } from './tensor.js';

/** Largest manifest.json accepted (a capture of thousands of layers is far below it). */
export const MAX_NPZ_MANIFEST_BYTES = 1 << 22;

/** An .npz read into memory: its arrays by member name (without `.npy`), and the manifest, if any. */
export interface NpzContents {
  /** Each `.npy` member, keyed as numpy.load keys it: the member name without `.npy`. */
  readonly arrays: ReadonlyMap<string, Tensor>;
  /** The parsed `manifest.json` member, or undefined when the archive has none. */
  readonly manifest?: unknown;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The central directory's records, name and CRC-32 of each entry, in order. fflate has already
 * accepted the archive when this runs; what this finds wrong is still refused.
 */
function centralDirectory(bytes: Uint8Array, fail: (message: string) => never): { name: string; crc: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail('not a zip archive (no end of central directory record)');
  let entries = view.getUint16(eocd + 10, true);
  let offset = view.getUint32(eocd + 16, true);
  if ((offset === 0xffffffff || entries === 0xffff) && eocd >= 20 && view.getUint32(eocd - 20, true) === 0x07064b50) {
    const z64 = Number(view.getBigUint64(eocd - 12, true));
    if (z64 + 56 > bytes.length || view.getUint32(z64, true) !== 0x06064b50)
      fail('bad zip64 end of central directory record');
    entries = Number(view.getBigUint64(z64 + 32, true));
    offset = Number(view.getBigUint64(z64 + 48, true));
  }
  const records: { name: string; crc: number }[] = [];
  const decoder = new TextDecoder();
  for (let e = 0; e < entries; e++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50)
      fail(`bad central directory record ${e + 1} of ${entries}`);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    if (offset + 46 + nameLength > bytes.length) fail(`bad central directory record ${e + 1} of ${entries}`);
    records.push({
      name: decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength)),
      crc: view.getUint32(offset + 16, true),
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return records;
}

/**
 * Parses an .npz held in memory: every member is CRC-checked and every `.npy` member parsed.
 *
 * @param bytes - the archive's contents.
 * @param label - names the archive in error messages (default 'archive').
 * @returns the arrays by member name (without `.npy`) and the parsed manifest.json, if present.
 * @throws {@link InputError} naming the archive (and the member) when it is not a zip, is truncated,
 *   holds a member compressed otherwise than stored or deflated, a member whose CRC does not match,
 *   a duplicate or unexpected member, a member that is not a valid .npy, or a manifest that is not JSON.
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs';
 * import { parseNpz } from 'syncbn-sim';
 *
 * const { arrays } = parseNpz(readFileSync('acts.npz'), 'acts.npz'); // numpy.savez(..., x=x)
 * arrays.get('x'); // { data: Float32Array, shape: [...] }
 * ```
 */
export function parseNpz(bytes: Uint8Array, label = 'archive'): NpzContents {
  if (!(bytes instanceof Uint8Array)) throw argumentError('bytes', "a Uint8Array (an .npz file's contents)", bytes);
  checkString('label', label);
  const fail = (message: string): never => {
    throw new InputError(`${label}: ${message}`);
  };
  if (bytes.length < 22 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) fail('not an .npz (zip) archive');
  const records = centralDirectory(bytes, fail);
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.name)) fail(`member '${r.name}' appears twice`);
    seen.add(r.name);
  }
  let members: Record<string, Uint8Array>;
  try {
    members = unzipSync(bytes, {
      filter(file) {
        if (file.compression !== 0 && file.compression !== 8)
          fail(
            `member '${file.name}' uses compression method ${file.compression}; only stored (0) and deflated (8) are read`,
          );
        return true;
      },
    });
  } catch (err) {
    if (err instanceof InputError) throw err;
    fail(`not a readable zip archive (${(err as Error).message}; truncated or corrupt?)`);
    throw err;
  }
  const arrays = new Map<string, Tensor>();
  let manifest: unknown;
  for (const r of records) {
    const data = members[r.name];
    if (data === undefined) fail(`member '${r.name}' could not be read`);
    if (crc32(data) !== r.crc) fail(`member '${r.name}' is corrupt (its CRC-32 does not match)`);
    if (r.name.endsWith('/') && data.length === 0) continue;
    if (r.name === 'manifest.json') {
      requireInput(
        data.length <= MAX_NPZ_MANIFEST_BYTES,
        () => `${label}: manifest.json is larger than ${MAX_NPZ_MANIFEST_BYTES} bytes`,
      );
      try {
        manifest = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
      } catch (err) {
        fail(`manifest.json is not valid JSON (${(err as Error).message})`);
      }
    } else if (r.name.endsWith('.npy')) {
      arrays.set(r.name.slice(0, -4), parseNpy(data, `${label}:${r.name}`));
    } else {
      fail(`unexpected member '${r.name}' (an .npz holds .npy members and, from syncbn_capture.py, manifest.json)`);
    }
  }
  requireInput(arrays.size > 0, () => `${label}: the archive holds no .npy member`);
  return manifest === undefined ? { arrays } : { arrays, manifest };
}

/**
 * Reads and parses an .npz file (see {@link parseNpz}).
 *
 * @param path - the file.
 * @param label - names it in error messages (default the path).
 * @returns the arrays by member name and the manifest, if any.
 * @throws {@link InputError} naming the path when the file is missing, unreadable, a directory,
 *   larger than 2 GiB, or not an .npz this reader accepts.
 */
export function readNpzFile(path: string, label: string = path): NpzContents {
  checkString('path', path);
  checkString('label', label);
  const where = label === path ? path : `${label} (${path})`;
  const bytes = readInputFile(path, where);
  return parseNpz(bytes, where);
}
