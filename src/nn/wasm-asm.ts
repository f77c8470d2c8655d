/**
 * A minimal WebAssembly assembler: just enough of the binary format (types, one exported memory,
 * exported functions, i32/f32/v128 locals and the few instructions the GEMM kernels use) to emit
 * small, fully unrolled kernels at start-up, with no toolchain and no binary blob in the repository.
 * Opcodes are from the WebAssembly 2.0 core specification (fixed-width SIMD, section 5.4.8).
 */

export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

export function uleb(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

/** The body of one function: locals are numbered after the parameters, in order of `local()`. */
export class FunctionBuilder {
  readonly code: number[] = [];
  private readonly locals: ValType[] = [];

  constructor(
    readonly exportName: string,
    readonly params: readonly ValType[],
  ) {}

  local(type: ValType): number {
    this.locals.push(type);
    return this.params.length + this.locals.length - 1;
  }

  private emit(...bytes: number[]): this {
    this.code.push(...bytes);
    return this;
  }
  private simd(op: number, ...imm: number[]): this {
    return this.emit(0xfd, ...uleb(op), ...imm);
  }

  get(i: number): this {
    return this.emit(0x20, ...uleb(i));
  }
  set(i: number): this {
    return this.emit(0x21, ...uleb(i));
  }
  i32(n: number): this {
    return this.emit(0x41, ...sleb(n));
  }
  add(): this {
    return this.emit(0x6a);
  }
  sub(): this {
    return this.emit(0x6b);
  }
  mul(): this {
    return this.emit(0x6c);
  }
  divU(): this {
    return this.emit(0x6e);
  }
  shl(): this {
    return this.emit(0x74);
  }
  eq(): this {
    return this.emit(0x46);
  }
  ltS(): this {
    return this.emit(0x48);
  }
  ltU(): this {
    return this.emit(0x49);
  }
  gtS(): this {
    return this.emit(0x4a);
  }
  /** Pops c, b, a and pushes c ? a : b. */
  select(): this {
    return this.emit(0x1b);
  }
  f32Add(): this {
    return this.emit(0x92);
  }
  eqz(): this {
    return this.emit(0x45);
  }
  geU(): this {
    return this.emit(0x4f);
  }
  /** local[i] += n */
  inc(i: number, n: number): this {
    return this.get(i).i32(n).add().set(i);
  }
  /** local[i] += local[j] */
  incBy(i: number, j: number): this {
    return this.get(i).get(j).add().set(i);
  }

  f32Load(offset: number): this {
    return this.emit(0x2a, 2, ...uleb(offset));
  }
  f32Store(offset: number): this {
    return this.emit(0x38, 2, ...uleb(offset));
  }
  v128Load(offset: number): this {
    return this.simd(0x00, 2, ...uleb(offset));
  }
  v128Store(offset: number): this {
    return this.simd(0x0b, 2, ...uleb(offset));
  }
  /** Loads one f32 and splats it over four lanes. */
  v128Load32Splat(offset: number): this {
    return this.simd(0x09, 2, ...uleb(offset));
  }
  f32x4Zero(): this {
    return this.simd(0x0c, ...new Array<number>(16).fill(0));
  }
  f32Const(v: number): this {
    const b = new Uint8Array(new Float32Array([v]).buffer);
    return this.emit(0x43, ...b);
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  f32x4Min(): this {
    return this.simd(0xe8);
  }
  f32x4Max(): this {
    return this.simd(0xe9);
  }
  f32x4Neg(): this {
    return this.simd(0xe1);
  }
  /** Round to nearest, ties to even. */
  f32x4Nearest(): this {
    return this.simd(0x6a);
  }
  /** f32 lanes to i32 lanes (saturating, truncating). */
  i32x4TruncSatF32x4S(): this {
    return this.simd(0xf8);
  }
  i32x4Splat(): this {
    return this.simd(0x11);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  /** Shift every i32 lane left by an i32 count from the stack. */
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }

  /** `for (; local[counter] !== 0; ) body` — the body must change the counter. */
  whileNonZero(counter: number, body: () => void): this {
    this.emit(0x02, 0x40, 0x03, 0x40);
    this.get(counter).eqz().emit(0x0d, 1);
    body();
    this.emit(0x0c, 0, 0x0b, 0x0b);
    return this;
  }
  /** `for (local[i] = 0; local[i] < local[limit]; local[i]++) body` */
  forUp(i: number, limit: number, body: () => void): this {
    this.i32(0).set(i);
    this.emit(0x02, 0x40, 0x03, 0x40);
    this.get(i).get(limit).geU().emit(0x0d, 1);
    body();
    this.inc(i, 1);
    this.emit(0x0c, 0, 0x0b, 0x0b);
    return this;
  }
  /** `while (local[p] !== local[end]) body` — the body must move p towards end. */
  whileNotEqual(p: number, end: number, body: () => void): this {
    this.emit(0x02, 0x40, 0x03, 0x40);
    this.get(p).get(end).eq().emit(0x0d, 1);
    body();
    this.emit(0x0c, 0, 0x0b, 0x0b);
    return this;
  }
  /** Pops a condition: `if (cond) then else otherwise`. */
  ifElse(then: () => void, otherwise?: () => void): this {
    this.emit(0x04, 0x40);
    then();
    if (otherwise) {
      this.emit(0x05);
      otherwise();
    }
    return this.emit(0x0b);
  }
  /** `if (local[cond] !== 0) body` */
  ifNonZero(cond: number, body: () => void): this {
    this.get(cond).emit(0x04, 0x40);
    body();
    return this.emit(0x0b);
  }

  encode(): number[] {
    const groups: number[] = [];
    let count = 0;
    for (let i = 0; i < this.locals.length; ) {
      let j = i;
      while (j < this.locals.length && this.locals[j] === this.locals[i]) j++;
      groups.push(...uleb(j - i), this.locals[i]);
      count++;
      i = j;
    }
    const body = [...uleb(count), ...groups, ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }
}

/** A module with one exported memory ("memory", `pages` of 64 KiB) and the given functions. */
export function assembleModule(functions: readonly FunctionBuilder[], pages: number): Uint8Array {
  const types: number[] = [...uleb(functions.length)];
  for (const f of functions) types.push(0x60, ...uleb(f.params.length), ...f.params, 0);
  const funcs = [...uleb(functions.length), ...functions.flatMap((_, i) => uleb(i))];
  const memory = [1, 0, ...uleb(pages)];
  const exports = [...uleb(functions.length + 1), ...name('memory'), 2, 0];
  functions.forEach((f, i) => exports.push(...name(f.exportName), 0, ...uleb(i)));
  const code = [...uleb(functions.length), ...functions.flatMap((f) => f.encode())];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types),
    ...section(3, funcs),
    ...section(5, memory),
    ...section(7, exports),
    ...section(10, code),
  ]);
}
