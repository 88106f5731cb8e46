import { CLIP_MODELS, UnknownClipModelError, resolveClipModel } from '../../src/inference/clip/clip-models';

describe('resolveClipModel', () => {
  it('knows the five Chinese-CLIP sizes', () => {
    expect(CLIP_MODELS.map((m) => [m.name, m.imageSize, m.dimensions, m.filePrefix])).toEqual([
      ['ViT-B-16', 224, 512, 'vit-b-16'],
      ['RN50', 224, 1024, 'rn50'],
      ['ViT-L-14', 224, 768, 'vit-l-14'],
      ['ViT-L-14-336', 336, 768, 'vit-l-14-336'],
      ['ViT-H-14', 224, 1024, 'vit-h-14'],
    ]);
  });

  it.each([
    ['ViT-B-16', 'ViT-B-16'],
    ['vit-b-16', 'ViT-B-16'],
    ['  VIT-B-16 ', 'ViT-B-16'],
    ['ViT-B/16', 'ViT-B-16'],
    ['cn-clip:ViT-B-16', 'ViT-B-16'],
    ['CN-CLIP-ViT-B-16', 'ViT-B-16'],
    ['cnclip_vit_b_16', 'ViT-B-16'],
    ['chinese-clip:rn50', 'RN50'],
    ['ViT-L-14@336px', 'ViT-L-14-336'],
    ['vit-l-14-336px', 'ViT-L-14-336'],
    ['vit-l-14', 'ViT-L-14'],
    ['ViT-H/14', 'ViT-H-14'],
  ])('%s -> %s', (input, name) => {
    expect(resolveClipModel(input).name).toBe(name);
  });

  it('names the known models when it does not know one', () => {
    expect(() => resolveClipModel('ViT-B-32__openai')).toThrow(UnknownClipModelError);
    expect(() => resolveClipModel('ViT-B-32__openai')).toThrow(
      'unknown cn-clip model "ViT-B-32__openai"; known models: ViT-B-16, RN50, ViT-L-14, ViT-L-14-336, ViT-H-14',
    );
  });
});
