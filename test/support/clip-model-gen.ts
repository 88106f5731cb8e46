import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { type ClipPart, clipModelFileName } from '../../src/inference/clip/clip-model-files';
import { resolveClipModel } from '../../src/inference/clip/clip-models';

/**
 * Writes a tiny stand-in for a Chinese-CLIP ONNX export: the real tensor names, shapes and types,
 * and weights chosen so that matching means something. The image tower averages each colour plane
 * and projects the three means onto three fixed directions (one per channel); the text tower sums
 * token embeddings in which 红/red, 绿/green, 蓝/blue point along those same directions (白/white
 * along all three, 黑/black against them) and every other token is small noise. So a red photo is
 * closest to "红色" and "red", exactly as the real model would have it, in a few hundred kilobytes.
 */

export interface TestClipModelOptions {
  /** Model size to imitate (folder name, file prefix, image size, dimensions). Default ViT-B-16. */
  modelName?: string;
  /** Which towers to write. Default both. */
  parts?: ClipPart[];
  /** fp16: output cast to float16 and file named `.fp16.onnx`. Default fp32. */
  precision?: 'fp32' | 'fp16';
  /** Write vocab.txt. Default true. */
  vocab?: boolean;
  /** Override the embedding width (to test a mismatched export). */
  dimensions?: number;
}

/** Tokens of the test vocabulary after the 106 reserved BERT entries. */
export const TEST_CLIP_TOKENS = [
  ...['红', '绿', '蓝', '白', '黑', '色', '的', '一', '张', '照', '片', '天', '空'],
  ...['red', 'green', 'blue', 'white', 'black', 'a', 'photo', 'of', 'the', 'sky', '##s'],
];

/** BERT's first 106 lines: [PAD]=0, [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103, <S>, <T>. */
export function testClipVocab(): string[] {
  const unused = Array.from({ length: 99 }, (_, i) => `[unused${i + 1}]`);
  return ['[PAD]', ...unused, '[UNK]', '[CLS]', '[SEP]', '[MASK]', '<S>', '<T>', ...TEST_CLIP_TOKENS];
}

/** Writes the files into `<root>/<ModelName>/` and returns that folder. */
export async function writeTestClipModel(root: string, options: TestClipModelOptions = {}): Promise<string> {
  const spec = resolveClipModel(options.modelName ?? 'ViT-B-16');
  const dimensions = options.dimensions ?? spec.dimensions;
  const precision = options.precision ?? 'fp32';
  const parts = options.parts ?? ['image', 'text'];
  const dir = join(root, spec.name);
  await mkdir(dir, { recursive: true });

  const vocab = testClipVocab();
  const channels = [0, 1, 2].map((c) => randomUnitVector(dimensions, 1000 + c));
  const writes: Promise<void>[] = [];
  if (parts.includes('image')) {
    const bytes = imageModel(spec.imageSize, channels, precision);
    writes.push(writeFile(join(dir, clipModelFileName(spec, 'image', precision)), bytes));
  }
  if (parts.includes('text')) {
    const bytes = textModel(embeddingTable(vocab, channels), vocab.length, dimensions, precision);
    writes.push(writeFile(join(dir, clipModelFileName(spec, 'text', precision)), bytes));
  }
  if (options.vocab ?? true) writes.push(writeFile(join(dir, 'vocab.txt'), vocab.join('\n') + '\n'));
  await Promise.all(writes);
  return dir;
}

const { FLOAT, FLOAT16, INT64 } = onnx.TensorProto.DataType;
const { INT, INTS } = onnx.AttributeProto.AttributeType;

/** image [1,3,S,S] -> ReduceMean over H,W -> [1,3] -> MatMul [3,D] -> x4 -> unnorm_image_features [1,D]. */
function imageModel(size: number, channels: Float32Array[], precision: 'fp32' | 'fp16'): Uint8Array {
  const dimensions = channels[0].length;
  const weights = new Float32Array(3 * dimensions);
  channels.forEach((vector, c) => weights.set(vector, c * dimensions));
  return encodeModel('cn-clip-test-image', {
    input: valueInfo('image', FLOAT, [1, 3, size, size]),
    output: { name: 'unnorm_image_features', dims: [1, dimensions] },
    precision,
    initializer: [floatTensor('projection', [3, dimensions], weights), floatTensor('scale', [], Float32Array.of(4))],
    node: [
      node('ReduceMean', ['image'], ['means'], [ints('axes', [2, 3]), int('keepdims', 0)]),
      node('MatMul', ['means', 'projection'], ['projected']),
      node('Mul', ['projected', 'scale'], ['features']),
    ],
  });
}

/** text [1,52] int64 -> Gather rows of the embedding table -> ReduceSum over tokens -> unnorm_text_features [1,D]. */
function textModel(table: Float32Array, rows: number, dimensions: number, precision: 'fp32' | 'fp16'): Uint8Array {
  return encodeModel('cn-clip-test-text', {
    input: valueInfo('text', INT64, [1, 52]),
    output: { name: 'unnorm_text_features', dims: [1, dimensions] },
    precision,
    initializer: [
      floatTensor('embedding', [rows, dimensions], table),
      { name: 'token_axis', dataType: INT64, dims: [1], int64Data: [1] },
      floatTensor('scale', [], Float32Array.of(3)),
    ],
    node: [
      node('Gather', ['embedding', 'text'], ['embedded'], [int('axis', 0)]),
      node('ReduceSum', ['embedded', 'token_axis'], ['summed'], [int('keepdims', 0)]),
      node('Mul', ['summed', 'scale'], ['features']),
    ],
  });
}

/** Colour words along their channel directions, [PAD] zero, everything else faint noise. */
function embeddingTable(vocab: string[], [r, g, b]: Float32Array[]): Float32Array {
  const dimensions = r.length;
  const all = r.map((_, i) => (r[i] + g[i] + b[i]) / Math.sqrt(3));
  const colour: Record<string, Float32Array> = {
    红: r,
    red: r,
    绿: g,
    green: g,
    蓝: b,
    blue: b,
    白: all,
    white: all,
    黑: all.map((v) => -v),
    black: all.map((v) => -v),
  };
  const table = new Float32Array(vocab.length * dimensions);
  vocab.forEach((token, id) => {
    if (id === 0) return; // [PAD] adds nothing, as padding positions should
    const row = colour[token] ?? randomUnitVector(dimensions, 7 + id).map((v) => v * 0.15);
    table.set(row, id * dimensions);
  });
  return table;
}

interface GraphParts {
  input: onnx.IValueInfoProto;
  output: { name: string; dims: number[] };
  precision: 'fp32' | 'fp16';
  initializer: onnx.ITensorProto[];
  node: onnx.INodeProto[];
}

function encodeModel(name: string, graph: GraphParts): Uint8Array {
  const nodes = [...graph.node];
  const last = nodes[nodes.length - 1];
  const fp16 = graph.precision === 'fp16';
  // The last node writes the output, through a Cast when the export is meant to return halves.
  if (fp16) nodes.push(node('Cast', [last.output![0]], [graph.output.name], [int('to', FLOAT16)]));
  else last.output = [graph.output.name];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    producerName: 'immich-ai clip-model-gen',
    graph: {
      name,
      node: nodes,
      initializer: graph.initializer,
      input: [graph.input],
      output: [valueInfo(graph.output.name, fp16 ? FLOAT16 : FLOAT, graph.output.dims)],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

function node(opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) {
  return { opType, input, output, attribute, name: `${opType}_${output[0]}` };
}

function int(name: string, i: number): onnx.IAttributeProto {
  return { name, type: INT, i };
}

function ints(name: string, values: number[]): onnx.IAttributeProto {
  return { name, type: INTS, ints: values };
}

function valueInfo(name: string, elemType: number, dims: number[]): onnx.IValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((dimValue) => ({ dimValue })) } } } };
}

function floatTensor(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  return { name, dataType: FLOAT, dims, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** Deterministic Gaussian direction (mulberry32 + Box-Muller): random directions in 512-d are nearly orthogonal. */
function randomUnitVector(dimensions: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 2 ** 32;
  };
  const out = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    out[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    norm += out[i] * out[i];
  }
  return out.map((v) => v / Math.sqrt(norm));
}
