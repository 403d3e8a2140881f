/**
 * The machine's peak multiply-add rate, from what /proc/cpuinfo says about its cores:
 *
 *   fp32 peak = cores x clock x FMA units per core x fp32 lanes per FMA x 2 (a multiply-add is 2 FLOPs)
 *
 * cores and clock ("cpu MHz") and the vector width (avx512f: 16 fp32 lanes, avx2+fma: 8) are read
 * from cpuinfo; FMA units per core are not in it: 2 on every x86 server core of the last decade
 * (AMD Zen 1-5, Intel Skylake-SP and later), which is what is assumed.
 * int8 peak: with VNNI (avx512_vnni / avx_vnni) one vpdpbusd does 4 u8*s8 multiply-adds per 32-bit
 * lane, 4x the fp32 rate; without it (AVX2 only) onnxruntime's kernels need vpmaddubsw + vpmaddwd,
 * two multiply-unit instructions per 32 byte-pairs of a 256-bit register, 2x the fp32 rate.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachinePeak {
  model: string;
  cores: number;
  mhz: number;
  flags: { avx2: boolean; fma: boolean; avx512f: boolean; vnni: boolean; avx512bf16: boolean };
  fmaUnits: number;
  fp32Lanes: number;
  /** FLOP/s */
  fp32: number;
  /** int8 multiply-adds x 2 per second */
  int8: number;
  int8OverFp32: number;
  formula: string;
}

export function machinePeak(cpuinfo = readCpuinfo()): MachinePeak {
  const field = (name: string) => cpuinfo.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1]?.trim();
  const flagList = new Set((field('flags') ?? '').split(/\s+/));
  const processors = cpuinfo.match(/^processor\s*:/gm)?.length ?? os.cpus().length;
  const mhz = Number(field('cpu MHz') ?? os.cpus()[0]?.speed ?? 0);
  const flags = {
    avx2: flagList.has('avx2'),
    fma: flagList.has('fma'),
    avx512f: flagList.has('avx512f'),
    vnni: flagList.has('avx512_vnni') || flagList.has('avx_vnni'),
    avx512bf16: flagList.has('avx512_bf16'),
  };
  const fp32Lanes = flags.avx512f ? 16 : flags.avx2 ? 8 : 4;
  const fmaUnits = 2;
  const fp32 = processors * mhz * 1e6 * fmaUnits * fp32Lanes * (flags.fma ? 2 : 1);
  const int8OverFp32 = flags.vnni ? 4 : 2;
  return {
    model: field('model name') ?? 'unknown',
    cores: processors,
    mhz,
    flags,
    fmaUnits,
    fp32Lanes,
    fp32,
    int8: fp32 * int8OverFp32,
    int8OverFp32,
    formula: `${processors} cores x ${(mhz / 1000).toFixed(3)} GHz x ${fmaUnits} FMA units x ${fp32Lanes} fp32 lanes x 2 = ${(fp32 / 1e9).toFixed(1)} GFLOP/s fp32; int8 ${int8OverFp32}x that (${flags.vnni ? 'VNNI' : 'no VNNI: AVX2 vpmaddubsw+vpmaddwd'}) = ${((fp32 * int8OverFp32) / 1e9).toFixed(1)} GOP/s`,
  };
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}
