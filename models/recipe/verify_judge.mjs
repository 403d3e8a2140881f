// Runs judge.onnx with onnxruntime-node (the product runtime) on images written by judge.py and
// writes its logits and features back as raw float32 for comparison with torch.
// usage: node verify_judge.mjs <judge.onnx> <verifyDir> <batch>
import ort from 'onnxruntime-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [file, dir, batchArg] = process.argv.slice(2);
const B = Number(batchArg);
const b = readFileSync(join(dir, 'image.bin'));
const image = new ort.Tensor('float32', new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)), [B, 1, 28, 28]);
const session = await ort.InferenceSession.create(file);
const out = await session.run({ image });
for (const name of ['logits', 'features']) {
  const t = out[name];
  writeFileSync(join(dir, `${name}.out.bin`), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}
console.log(`onnxruntime-node ran the judge on ${B} images`);
