/**
 * The WebAssembly kernels of src/nn, as generators for the assembler in src/nn/wasm-asm.ts. All of
 * them address one linear memory in bytes; src/nn/wasm-runtime.ts assembles them into one module
 * per thread. What each computes is documented at its generator; the drivers that stage data and
 * call them are src/nn/gemm-wasm.ts, src/nn/conv-wasm.ts and src/nn/activations.ts.
 */
import { FunctionBuilder, I32, V128 } from './wasm-asm.js';

/** Register tile of the GEMM kernel: 4 rows x 8 columns = 8 f32x4 accumulators. */
export const WASM_MR = 4;
export const WASM_NR = 8;

/**
 * kernel(mp, np, kc, a, aRowStride, aKStride, b, ldb, c, ldc, accumulate), addresses and strides in
 * bytes: for each of np column panels and mp row panels, C tile (=|+=) sum over kc of A · B.
 */
export function gemmKernel(MR: number, NR: number): FunctionBuilder {
  const NV = NR / 4;
  const f = new FunctionBuilder('kernel', Array(11).fill(I32));
  const [mp, np, kc, a, ars, aks, b, ldb, c, ldc, acc] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const ip = f.local(I32);
  const jp = f.local(I32);
  const k = f.local(I32);
  const bp = f.local(I32);
  const cp = f.local(I32);
  const ap = Array.from({ length: MR }, () => f.local(I32));
  const accs = Array.from({ length: MR }, () => Array.from({ length: NV }, () => f.local(V128)));
  const bv = Array.from({ length: NV }, () => f.local(V128));
  const av = f.local(V128);
  f.forUp(jp, np, () => {
    f.forUp(ip, mp, () => {
      // ap[0] = a + ip * MR * ars; ap[r] = ap[r-1] + ars
      f.get(a).get(ip).i32(MR).mul().get(ars).mul().add().set(ap[0]);
      for (let r = 1; r < MR; r++) f.get(ap[r - 1]).get(ars).add().set(ap[r]);
      f.get(b).get(jp).i32(NR * 4).mul().add().set(bp);
      for (const row of accs) for (const v of row) f.f32x4Zero().set(v);
      f.get(kc).set(k);
      f.whileNonZero(k, () => {
        for (let v = 0; v < NV; v++) f.get(bp).v128Load(16 * v).set(bv[v]);
        for (let r = 0; r < MR; r++) {
          f.get(ap[r]).v128Load32Splat(0).set(av);
          for (let v = 0; v < NV; v++) f.get(accs[r][v]).get(av).get(bv[v]).f32x4Mul().f32x4Add().set(accs[r][v]);
        }
        for (let r = 0; r < MR; r++) f.incBy(ap[r], aks);
        f.incBy(bp, ldb);
        f.get(k).i32(1).sub().set(k);
      });
      // cp = c + ip * MR * ldc + jp * NR * 4
      f.get(c).get(ip).i32(MR).mul().get(ldc).mul().add().get(jp).i32(NR * 4).mul().add().set(cp);
      for (let r = 0; r < MR; r++) {
        f.ifNonZero(acc, () => {
          for (let v = 0; v < NV; v++) f.get(accs[r][v]).get(cp).v128Load(16 * v).f32x4Add().set(accs[r][v]);
        });
        for (let v = 0; v < NV; v++) f.get(cp).get(accs[r][v]).v128Store(16 * v);
        f.incBy(cp, ldc);
      }
    });
  });
  return f;
}

/** transpose(src, rows, cols, lds, dst, ldd), bytes: dst[j][i] = src[i][j], four source rows at a time. */
export function transposeKernel(): FunctionBuilder {
  const f = new FunctionBuilder('transpose', Array(6).fill(I32));
  const [src, rows, cols, lds, dst, ldd] = [0, 1, 2, 3, 4, 5];
  const i = f.local(I32);
  const j = f.local(I32);
  const s = f.local(I32);
  const d = f.local(I32);
  const quads = f.local(I32);
  // rows are handled four at a time (the caller pads rows to a multiple of 4 with readable memory)
  f.get(rows).i32(3).add().i32(4).divU().set(quads);
  f.forUp(i, quads, () => {
    f.get(src).get(i).i32(4).mul().get(lds).mul().add().set(s);
    f.get(dst).get(i).i32(16).mul().add().set(d);
    f.forUp(j, cols, () => {
      for (let r = 0; r < 4; r++) {
        // d[r] = s[r * lds]
        f.get(d).get(s).get(lds).i32(r).mul().add().f32Load(0).f32Store(4 * r);
      }
      f.inc(s, 4).incBy(d, ldd);
    });
  });
  return f;
}

/**
 * sigmoid(src, dst, n): n (a multiple of 4) floats at byte address src to dst, 1 / (1 + exp(-x)).
 * exp is Cephes' expf: the argument reduced by n*ln2 in two parts, a degree-6 polynomial, 2^n
 * built in the exponent bits. Within 2 ulp of the correctly rounded sigmoid wherever that is a
 * normal float; 0 below x = -88.7 and 1 above x = 17, as float32 rounding of the exact value; NaN
 * stays NaN.
 */
export function sigmoidKernel(): FunctionBuilder {
  const f = new FunctionBuilder('sigmoid', [I32, I32, I32]);
  const [src, dst, n] = [0, 1, 2];
  const v = f.local(V128);
  const fx = f.local(V128);
  const r = f.local(V128);
  const p = f.local(V128);
  const splat = (c: number) => f.f32Const(c).f32x4Splat();
  f.whileNonZero(n, () => {
    // v = clamp(-x, -87, 89): past 88.7, 2^128 is built as infinity and the result is exactly 0
    f.get(src).v128Load(0).f32x4Neg();
    splat(89).f32x4Min();
    splat(-87).f32x4Max().set(v);
    // fx = nearest(v * log2(e)); r = v - fx * C1 - fx * C2
    f.get(v);
    splat(Math.LOG2E).f32x4Mul().f32x4Nearest().set(fx);
    f.get(v).get(fx);
    splat(0.693359375).f32x4Mul().f32x4Sub();
    f.get(fx);
    splat(-2.12194440e-4).f32x4Mul().f32x4Sub().set(r);
    // p = ((((c5 r + c4) r + c3) r + c2) r + c1) r + c0; e^r = p r^2 + r + 1
    splat(1.9875691500e-4);
    for (const c of [1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1]) {
      f.get(r).f32x4Mul();
      splat(c).f32x4Add();
    }
    f.set(p);
    f.get(p).get(r).get(r).f32x4Mul().f32x4Mul().get(r).f32x4Add();
    splat(1).f32x4Add();
    // times 2^fx: the bits of (fx + 127) << 23
    f.get(fx).i32x4TruncSatF32x4S();
    f.i32(127).i32x4Splat().i32x4Add();
    f.i32(23).i32x4Shl();
    f.f32x4Mul();
    // 1 / (1 + e)
    f.set(p);
    splat(1);
    splat(1).get(p).f32x4Add();
    f.f32x4Div().set(p);
    f.get(dst).get(p).v128Store(0);
    f.inc(src, 16).inc(dst, 16);
    f.get(n).i32(4).sub().set(n);
  });
  return f;
}


/** Signed max/min of two locals into a third: out = a > b ? a : b (or <). */
function selectMax(f: FunctionBuilder, out: number, a: number, b: number): void {
  f.get(a).get(b).get(a).get(b).gtS().select().set(out);
}
function selectMin(f: FunctionBuilder, out: number, a: number, b: number): void {
  f.get(a).get(b).get(a).get(b).ltS().select().set(out);
}

/**
 * Shared loop nest of im2col and col2im (stride 1): for every example b, channel c and kernel
 * offset (ki, kj), the column row (c*k + ki)*k + kj from b*P on, and for every output row oh the
 * input row ih = oh + ki - pad; within it output columns [owLo, owHi) read input columns
 * ow + kj - pad, the rest are padding. `row(f, locals)` emits the work of one output row, with
 * d (its first column entry), ih, owLo, owHi, xPlane and the parameters in `locals`.
 */
function convLoops(name: string, row: (f: FunctionBuilder, v: Record<string, number>) => void): FunctionBuilder {
  // (x, batch, C, H, W, k, pad, outH, outW, col, ldcol): x and col byte addresses, ldcol bytes
  const f = new FunctionBuilder(name, Array(11).fill(I32));
  const [x, batch, C, H, W, k, pad, outH, outW, col, ldcol] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const v: Record<string, number> = {};
  for (const n of ['b', 'c', 'ki', 'kj', 'oh', 'xPlane', 'dRow', 'owLo', 'owHi', 'ih', 'd', 's', 'p', 'q', 'end', 'P4', 'zero', 'tmp']) v[n] = f.local(I32);
  Object.assign(v, { x, batch, C, H, W, k, pad, outH, outW, col, ldcol });
  f.get(outH).get(outW).mul().i32(4).mul().set(v.P4);
  f.i32(0).set(v.zero);
  f.forUp(v.b, batch, () => {
    f.forUp(v.c, C, () => {
      // xPlane = x + (b*C + c) * H * W * 4
      f.get(x).get(v.b).get(C).mul().get(v.c).add().get(H).mul().get(W).mul().i32(4).mul().add().set(v.xPlane);
      f.forUp(v.ki, k, () => {
        f.forUp(v.kj, k, () => {
          // dRow = col + ((c*k + ki)*k + kj) * ldcol + b * P4
          f.get(col).get(v.c).get(k).mul().get(v.ki).add().get(k).mul().get(v.kj).add().get(ldcol).mul().add();
          f.get(v.b).get(v.P4).mul().add().set(v.dRow);
          // owLo = max(0, pad - kj); owHi = max(owLo, min(outW, W + pad - kj))
          f.get(pad).get(v.kj).sub().set(v.tmp);
          selectMax(f, v.owLo, v.tmp, v.zero);
          f.get(W).get(pad).add().get(v.kj).sub().set(v.tmp);
          selectMin(f, v.owHi, v.tmp, outW);
          selectMax(f, v.owHi, v.owHi, v.owLo);
          f.forUp(v.oh, outH, () => {
            f.get(v.oh).get(v.ki).add().get(pad).sub().set(v.ih);
            f.get(v.dRow).get(v.oh).get(outW).mul().i32(4).mul().add().set(v.d);
            row(f, v);
          });
        });
      });
    });
  });
  return f;
}

/**
 * im2col(x, batch, C, H, W, k, pad, outH, outW, col, ldcol), stride 1: col[(c*k + ki)*k + kj]
 * [b*P + oh*outW + ow] = x[b][c][oh + ki - pad][ow + kj - pad], 0 outside; col rows ldcol bytes apart.
 */
export function im2colKernel(): FunctionBuilder {
  return convLoops('im2col', (f, v) => {
    const zeroRun = (from: number, to: number) => {
      // p = d + from*4; end = d + to*4; while p != end: *p = 0
      f.get(v.d).get(from).i32(2).shl().add().set(v.p);
      f.get(v.d).get(to).i32(2).shl().add().set(v.end);
      f.whileNotEqual(v.p, v.end, () => {
        f.get(v.p).f32Const(0).f32Store(0);
        f.inc(v.p, 4);
      });
    };
    // inside = ih in [0, H) (unsigned compare also rejects negative ih)
    f.get(v.ih).get(v.H).ltU().ifElse(
      () => {
        zeroRun(v.zero, v.owLo);
        // s = xPlane + (ih*W + kj - pad) * 4 + owLo*4; copy [owLo, owHi)
        f.get(v.xPlane).get(v.ih).get(v.W).mul().get(v.kj).add().get(v.pad).sub().get(v.owLo).add().i32(2).shl().add().set(v.q);
        f.get(v.d).get(v.owLo).i32(2).shl().add().set(v.p);
        f.get(v.d).get(v.owHi).i32(2).shl().add().set(v.end);
        f.whileNotEqual(v.p, v.end, () => {
          f.get(v.p).get(v.q).f32Load(0).f32Store(0);
          f.inc(v.p, 4).inc(v.q, 4);
        });
        zeroRun(v.owHi, v.outW);
      },
      () => zeroRun(v.zero, v.outW),
    );
  });
}

/**
 * col2im(dx, batch, C, H, W, k, pad, outH, outW, col, ldcol), stride 1: the adjoint of im2col,
 * dx[b][c][ih][iw] += every column entry taken from there. dx must be zeroed by the caller.
 */
export function col2imKernel(): FunctionBuilder {
  return convLoops('col2im', (f, v) => {
    f.get(v.ih).get(v.H).ltU().ifElse(() => {
      f.get(v.xPlane).get(v.ih).get(v.W).mul().get(v.kj).add().get(v.pad).sub().get(v.owLo).add().i32(2).shl().add().set(v.q);
      f.get(v.d).get(v.owLo).i32(2).shl().add().set(v.p);
      f.get(v.d).get(v.owHi).i32(2).shl().add().set(v.end);
      f.whileNotEqual(v.p, v.end, () => {
        f.get(v.q).get(v.q).f32Load(0).get(v.p).f32Load(0).f32Add().f32Store(0);
        f.inc(v.p, 4).inc(v.q, 4);
      });
    });
  });
}
