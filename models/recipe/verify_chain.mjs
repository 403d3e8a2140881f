// Runs the exported fmnist segments with onnxruntime-node (the product runtime) on inputs written
// by export.py and writes the outputs back as raw float32 for comparison with torch.
// usage: node verify_chain.mjs <modelDir> <verifyDir> <batch> <blocks>
import ort from 'onnxruntime-node';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [modelDir, dir, batchArg, blocksArg] = process.argv.slice(2);
const B = Number(batchArg);
const nBlocks = Number(blocksArg);
// copy out of Node's pooled Buffer so the typed array sees exactly the file's bytes
const bytes = (name) => {
  const b = readFileSync(join(dir, name));
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
};
const f32 = (name) => new Float32Array(bytes(name));
const i64 = (name) => new BigInt64Array(bytes(name));
const x = new ort.Tensor('float32', f32('x.bin'), [B, 1, 28, 28]);
const t = new ort.Tensor('float32', f32('t.bin'), [B]);
const label = new ort.Tensor('int64', i64('label.bin'), [B]);
const image = new ort.Tensor('float32', f32('image.bin'), [B, 1, 28, 28]);
const open = (file) => ort.InferenceSession.create(join(modelDir, file));
const save = (name, tensor) => writeFileSync(join(dir, `${name}.out.bin`), Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength));

const embed = await open('embed.onnx');
let { h, emb } = await embed.run({ x, t, label });
for (let i = 0; i < nBlocks; i++) {
  const block = await open(`block_${String(i).padStart(2, '0')}.onnx`);
  h = (await block.run({ h, emb })).h_out;
}
const head = await open('head.onnx');
save('chain', (await head.run({ h, emb, x })).out);
const full = await open('full.onnx');
save('full', (await full.run({ x, t, label })).out);
const clf = await open('classifier.onnx');
const c = await clf.run({ image });
save('logits', c.logits);
save('features', c.features);
console.log(`onnxruntime-node ran embed, ${nBlocks} blocks, head, full and classifier`);
