/**
 * Immich checks the CLIP model name against its own table of names and embedding sizes, and sizes
 * its vector column from it. This service answers with cn-clip whatever the name, so the name only
 * has to carry the right size: any 512-dimension name (`ViT-B-16__openai`, `ViT-B-32__openai`, ...)
 * works with cn-clip ViT-B-16. These families are larger in Immich's table (SigLIP, ViT-L/H/g,
 * the RN50 variants, "plus", NLLB, LaBSE): a 512-d answer to them would fail at Immich's insert,
 * so they are refused with a message saying which names fit.
 */
const LARGER_THAN_512 = /(siglip|vit-[lhg]-|so400m|gopt|nllb|labse|plus|rn50(x\d+)?__)/i;

/** A message when `immichName` is known to have another size than `dimensions`; undefined if it fits. */
export function clipNameMismatch(immichName: string, dimensions: number): string | undefined {
  const name = immichName.replace(/^immich-app\//, '');
  if (dimensions !== 512 || !LARGER_THAN_512.test(name)) return undefined;
  return (
    `CLIP model "${immichName}" is not a 512-dimension model in Immich, but this service serves cn-clip ` +
    `with 512 dimensions: set Immich's CLIP model to a 512-dimension name such as ViT-B-16__openai`
  );
}
