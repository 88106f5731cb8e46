import { readFileSync } from 'node:fs';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-node';
import { findOcrModelFiles } from '../../src/inference/ocr/model-files';
import { simplifyGraph } from '../../src/inference/onnx/simplify-graph';

const FLOAT = onnx.TensorProto.DataType.FLOAT;

/** A Constant node holding float data. */
const constant = (name: string, dims: number[], values: number[]) =>
  onnx.NodeProto.create({
    opType: 'Constant',
    output: [name],
    attribute: [
      onnx.AttributeProto.create({
        name: 'value',
        type: onnx.AttributeProto.AttributeType.TENSOR,
        t: onnx.TensorProto.create({ dataType: FLOAT, dims, floatData: values }),
      }),
    ],
  });
const node = (opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []) =>
  onnx.NodeProto.create({ opType, input, output, attribute });
const ints = (name: string, values: number[]) =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: values });
const valueInfo = (name: string, dims: number[]) =>
  onnx.ValueInfoProto.create({
    name,
    type: onnx.TypeProto.create({
      tensorType: onnx.TypeProto.Tensor.create({
        elemType: FLOAT,
        shape: onnx.TensorShapeProto.create({
          dim: dims.map((d) => onnx.TensorShapeProto.Dimension.create({ dimValue: d })),
        }),
      }),
    }),
  });

/**
 * x [1,2,5,5] -> 3x3 Conv (padded, with bias) -> * 1.7 -> + 0.3 -> hard-swish written out as
 * PaddlePaddle exports it (+3, Clip [0,6] with bounds as inputs, * x, / 6) -> y. `alsoOutput` makes
 * the scaled map a graph output too (so the shift must stay where it is); `perChannel` makes the
 * scale a per-channel tensor, which is not folded.
 */
function tinyModel({ alsoOutput = false, perChannel = false } = {}): Uint8Array {
  const weights = Array.from({ length: 2 * 2 * 3 * 3 }, (_, i) => Math.sin(i + 1) / 2);
  const graph = onnx.GraphProto.create({
    name: 'tiny',
    node: [
      constant('w', [2, 2, 3, 3], weights),
      constant('b', [2], [0.25, -0.5]),
      perChannel ? constant('s', [1, 2, 1, 1], [1.7, 0.9]) : constant('s', [], [1.7]),
      constant('t', [], [0.3]),
      constant('three', [], [3]),
      constant('zero', [], [0]),
      constant('six', [], [6]),
      node('Conv', ['x', 'w', 'b'], ['c'], [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])]),
      node('Mul', ['s', 'c'], ['scaled']),
      node('Add', ['scaled', 't'], ['a']),
      node('Add', ['a', 'three'], ['a3']),
      node('Clip', ['a3', 'zero', 'six'], ['clipped']),
      node('Mul', ['a', 'clipped'], ['m']),
      node('Div', ['m', 'six'], ['y']),
    ],
    input: [valueInfo('x', [1, 2, 5, 5])],
    output: [valueInfo('y', [1, 2, 5, 5]), ...(alsoOutput ? [valueInfo('scaled', [1, 2, 5, 5])] : [])],
  });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 11 })],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

async function run(model: Uint8Array, input: ort.Tensor, output: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(model);
  try {
    return (await session.run({ [session.inputNames[0]]: input }))[output].data as Float32Array;
  } finally {
    await session.release();
  }
}

const maxDifference = (a: Float32Array, b: Float32Array) =>
  a.reduce((max, v, i) => Math.max(max, Math.abs(v - b[i])), 0);

describe('exact graph simplifications of the OCR models', () => {
  it('folds the affine into the convolution and rewrites hard-swish, with the same outputs', async () => {
    const original = tinyModel();
    const simplified = simplifyGraph(original);
    expect({ hardSwish: simplified.hardSwish, affine: simplified.affine }).toEqual({ hardSwish: 1, affine: 1 });
    const ops = onnx.ModelProto.decode(simplified.model).graph!.node!.map((n) => n.opType);
    expect(ops.filter((op) => op !== 'Constant')).toEqual(['Conv', 'HardSigmoid', 'Mul']);
    // Inputs far enough out that the clip's both ends and the padding's border are exercised.
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 50 }, (_, i) => ((i * 37) % 50) / 2.5 - 10),
      [1, 2, 5, 5],
    );
    const [before, after] = await Promise.all([run(original, x, 'y'), run(simplified.model, x, 'y')]);
    expect(before.some((v) => v === 0) && before.some((v) => v > 6)).toBe(true);
    expect(maxDifference(before, after)).toBeLessThan(1e-5);
  });

  it('folds only what stays exact, and leaves a model alone where nothing matches', async () => {
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 50 }, (_, i) => Math.cos(i) * 8),
      [1, 2, 5, 5],
    );
    // The scaled map is also an output of the graph: the scale folds (that map is still produced),
    // the shift stays behind it.
    const shared = tinyModel({ alsoOutput: true });
    const folded = simplifyGraph(shared);
    expect(folded.affine).toBe(1);
    expect(onnx.ModelProto.decode(folded.model).graph!.node!.map((n) => n.opType)).toContain('Add');
    for (const output of ['y', 'scaled']) {
      const [before, after] = await Promise.all([run(shared, x, output), run(folded.model, x, output)]);
      expect(maxDifference(before, after)).toBeLessThan(1e-5);
    }
    // A per-channel scale is not a scalar affine: not folded.
    expect(simplifyGraph(tinyModel({ perChannel: true })).affine).toBe(0);
    // Nothing to do at all: the very same bytes come back.
    const plain = onnx.ModelProto.encode(
      onnx.ModelProto.create({
        irVersion: 8,
        opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: 11 })],
        graph: onnx.GraphProto.create({
          name: 'plain',
          node: [node('Relu', ['x'], ['y'])],
          input: [valueInfo('x', [1, 4])],
          output: [valueInfo('y', [1, 4])],
        }),
      }),
    ).finish();
    expect(simplifyGraph(plain).model).toBe(plain);
  });

  it('simplifies the bundled PP-OCRv4 models, and the detector answers as before', async () => {
    const files = findOcrModelFiles();
    const counts = (path: string) => {
      const { hardSwish, affine } = simplifyGraph(readFileSync(path));
      return { hardSwish, affine };
    };
    expect(counts(files.detection)).toEqual({ hardSwish: 24, affine: 28 });
    expect(counts(files.recognition)).toEqual({ hardSwish: 28, affine: 28 });
    expect(counts(files.classification!)).toEqual({ hardSwish: 18, affine: 0 });

    const original = readFileSync(files.detection);
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: 3 * 96 * 128 }, (_, i) => Math.sin(i / 7) * Math.cos(i / 131)),
      [1, 3, 96, 128],
    );
    const output = 'sigmoid_0.tmp_0';
    const [before, after] = await Promise.all([
      run(original, x, output),
      run(simplifyGraph(original).model, x, output),
    ]);
    expect(maxDifference(before, after)).toBeLessThan(1e-4);
  });
});
