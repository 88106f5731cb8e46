/**
 * Every OCR threshold in one place, with RapidOCR's defaults (rapidocr/config.yaml) unless noted.
 * The pipeline stages read this; nothing else hard-codes a number. Users override any of them with a
 * JSON settings file (ocr-config-file.ts: `--settings` / OCR_SETTINGS).
 */
export interface OcrConfig {
  det: {
    /**
     * Short side of the detector input (RapidOCR's limit_side_len 736). A smaller image is enlarged
     * to it, as RapidOCR's limit_type min does: the detector finds little under about 10 px of its
     * own input, so test/fixtures/ocr-real-tuning/box-photo.png (324x223, a photographed box) gave 1
     * of its 9 lines detected at 320x224 and 5 at 1056x736, and the held-out 520x44 strip gave
     * nothing at 512x32 and its whole line enlarged. Unlike RapidOCR we also shrink: a 1440x1080 photo is detected at
     * 992x736 instead of 1440x1088, half the pixels and half the detector time, with the same
     * accuracy on the fixtures. Immich: detection maxResolution.
     */
    limitSideLen: number;
    /** Cap on the long side so a 1:20 panorama or chat screenshot cannot make a giant tensor. Ours. */
    maxSideLen: number;
    /**
     * Cap on detector input pixels (2048 x 2048): the detector's memory grows with them, about
     * 230 MB per million pixels here, so a large maxResolution on a large photo stays bounded. This
     * bounds the cost of a read; the decoder's own pixel limit (DEFAULT_MAX_PIXELS, HTTP 413) refuses
     * an image, this never does. Ours.
     */
    maxPixels: number;
    /**
     * Cap on the pixels of an enlarged detector input (a small image or a strip, see limitSideLen):
     * no more than arenaKeepPixels, so enlarging never costs a detector reopen, and a small image's
     * detector input is at most 2.7 times a 1440x1080 photo's (992x736). A 1x1 icon is detected at
     * 736x736; a 445x39 strip at 2848x672 where RapidOCR takes 3008x736. Ours.
     */
    maxEnlargedPixels: number;
    /**
     * A strip wider than this many times its height gets black bands above and below before
     * detection (RapidOCR's use_vertical_padding, width_height_ratio 8; detection/det-layout.ts).
     * 0 turns the bands off.
     */
    stripRatio: number;
    /**
     * RapidOCR's min_height 30: a strip no taller than this gets the bands too, and they make it at
     * least twice this tall. Also its min_side_len (30), the size at which the strip rule is judged.
     */
    stripMinSide: number;
    /**
     * onnxruntime's CPU arena keeps the largest detector run's memory for the life of the session
     * (a 2048x2720 input: ~1.3 GB, measured). After a run larger than this many input pixels the
     * detector session is opened afresh, which gives that memory back; runs up to this size (a
     * 1440x1088 Immich preview at any maxResolution, panoramas at 736) keep the arena and its speed
     * (without the arena a 992x736 run takes 3x as long). Ours.
     */
    arenaKeepPixels: number;
    /** Probability above which a pixel is text (thresh). */
    thresh: number;
    /** Mean probability inside a box below which the box is dropped (box_thresh). Immich: detection minScore. */
    boxThresh: number;
    /** How far boxes grow past the shrunk text kernel the model predicts (unclip_ratio). */
    unclipRatio: number;
    /** At most this many candidate regions per image (max_candidates). */
    maxCandidates: number;
    /** Regions whose short side is under this many detector pixels are noise (min_size). */
    minSize: number;
    /** Dilate the bitmap with a 2x2 kernel before finding regions (use_dilation). */
    useDilation: boolean;
    /**
     * An enlarged image (limitSideLen) is also detected at its own size, and the lines only that
     * pass finds are added. Enlarging a blurred photo of a page lowers some lines' box scores under
     * boxThresh: test/fixtures/ocr-real-tuning/book-photo.png (384x191) gave 7 of 7 lines at its
     * own size, 4 of 7 enlarged to 1472x736 (RapidOCR's size) and 7 with both. The pass at the image's
     * own size costs what a small image cost before enlarging. Ours.
     */
    nativePass: boolean;
    /**
     * Characters of vertical text that the detector boxes one by one are joined into a column when
     * the gap between two, one above the other, is at most this many times the column's width, and
     * nothing beside them is as close (detection/column-merge.ts). Vertical Chinese set with wide
     * letter-spacing was read row by row across its columns without it. 0 turns it off. Ours.
     */
    columnMergeGap: number;
  };
  cls: {
    /** Run the 0/180 degree classifier (use_cls). */
    enabled: boolean;
    /** Input height and maximum width (cls_image_shape 3x48x192). */
    height: number;
    width: number;
    batchSize: number;
    /** A crop is turned only when the classifier says 180 with at least this score (cls_thresh). */
    thresh: number;
  };
  rec: {
    /** Input height (rec_img_shape 3x48x320); width grows with the batch's widest crop. */
    height: number;
    /**
     * Narrowest recogniser input. RapidOCR pads every crop to 320 (rec_img_shape); most lines in a
     * photo are narrower (half the crops of the OCR fixtures are 139-290 px at height 48), and the
     * model's time grows with the padded width. Padding only to the crop's own width (at least
     * square) cut recognition from 51.9 to 47.7 ms per photo with the same text on the OCR
     * fixtures and the tuning set, and the held-out set's one error fixed (bench:ocr); on the
     * library photos it dropped two one-glyph false lines ("口", "®") and read "Zo0" as "Zoo". Ours.
     */
    minWidth: number;
    /** At most this many crops per recogniser run (rec_batch_num). */
    batchSize: number;
    /**
     * What one more recogniser run costs, in columns of one crop: crops are batched only where that
     * saves more padding (recognizer.ts planBatches). The model's time is close to batch x width
     * (PP-OCRv4 rec on 2 cores: 15.7 ms for one 320-wide crop, 86 for six, 60 for one 1280-wide);
     * a run adds about 1.3 ms beyond its columns (0.045 ms each), taken as 32 columns. Ours.
     */
    runCostColumns: number;
    /** Lines recognised with a lower mean score are dropped (text_score). Immich: recognition minScore. */
    textScoreMin: number;
  };
  spaces: {
    /** Put back spaces PP-OCR drops, from the model's own space probability between two characters. Ours. */
    recover: boolean;
    /**
     * Between two Chinese characters: a space goes back where the model gives it at least this
     * probability, though less than the character it chose. Ours (see recognition/ctc-decode.ts for
     * the measurements behind all three).
     */
    minSpaceProb: number;
    /** The same between two Latin letters or digits: high, so a space never splits a word. Ours. */
    latinSpaceProb: number;
    /** The same where Chinese meets Latin or digits ("拿铁 Latte", "合计 8.50"). Ours. */
    scriptChangeSpaceProb: number;
    /** No space goes back next to these (file names, URLs, dates, codes). Ours. */
    joiners: string;
  };
  /** Crops with height/width at or above this are vertical text: turned 90 degrees before recognition. */
  verticalRatio: number;
  /**
   * Crops are cut from the photo decoded with its short side at most this many times the detector's
   * (2208 px at 736) when the photo is over twice that: a 48-50 MP photo then decodes at a
   * fraction of the cost (libjpeg shrink-on-load), and text the detector can find is still 18+ px
   * tall. Smaller photos are decoded at full size. Ours.
   */
  cropSourceFactor: number;
  /**
   * The text gate (detection/text-gate.ts): before the full detector pass, the detector runs on a
   * small copy of the photo, and a photo in which that pass finds no text region is answered with no
   * lines, without the full pass. Ours.
   */
  gate: {
    /**
     * Off by default, because it misses small text: the detector finds no text under about 10 px of
     * its own input, so text the full pass reads at 16-24 px in a 1440 px preview (a date stamp, a
     * caption, a small sign) is all but invisible to a pass at 0.6 of its scale, and such a photo is
     * skipped. On the held-out library set (test/fixtures/library-heldout, a 70% text-free mix) the
     * gate skipped 10 of 13 text-free photos and read 1.5x as many photos per second, but lost 6 of
     * the 56 lines the full pass reads: four of 16-20 px, and 26 and 34 px text on gravel and fur
     * (npm run bench:ocr-library; README "A whole library"). Turn it on for a library where only
     * large text matters (signs, documents, screenshots).
     */
    enabled: boolean;
    /**
     * The gate's detector input as a fraction of the full pass's (sides rounded to multiples of 32):
     * 0.6 gates a 1440x1080 preview, detected at 992x736, at 608x448 (37% of the pixels). Relative,
     * so a per-call limitSideLen (Immich's maxResolution) moves the gate with it. Chosen on the
     * tuning set (bench:ocr-library --set tuning --scales 0.3,0.4,0.5,0.6,0.7): the smallest scale
     * that lost no line of 22 px or more the full pass reads there (0.5 lost a 24 and a 32 px line,
     * 0.4 also a 28 px one); it still loses 5 of the 7 lines under 22 px there (0.7: 2, with 1.4x the
     * gate's pixels).
     */
    scale: number;
    /**
     * The gate runs only when the full pass's detector input has more pixels than this; below it the
     * full pass costs little more than the gate would (a 64x64 or 1x1 image, a small thumbnail).
     */
    minPixels: number;
    /** Mean probability inside a region for the gate to take it for text (the full pass: det.boxThresh). */
    boxThresh: number;
    /** Regions whose short side is under this many gate pixels are noise (the full pass: det.minSize). */
    minSize: number;
  };
}

export const DEFAULT_OCR_CONFIG: OcrConfig = {
  det: {
    limitSideLen: 736,
    maxSideLen: 4096,
    maxPixels: 2048 * 2048,
    maxEnlargedPixels: 2_000_000,
    stripRatio: 8,
    stripMinSide: 30,
    arenaKeepPixels: 2_000_000,
    thresh: 0.3,
    boxThresh: 0.5,
    unclipRatio: 1.6,
    maxCandidates: 1000,
    minSize: 3,
    useDilation: true,
    columnMergeGap: 0.6,
    nativePass: true,
  },
  cls: { enabled: true, height: 48, width: 192, batchSize: 6, thresh: 0.9 },
  rec: { height: 48, minWidth: 48, batchSize: 6, runCostColumns: 32, textScoreMin: 0.5 },
  spaces: {
    recover: true,
    minSpaceProb: 0.005,
    latinSpaceProb: 0.03,
    scriptChangeSpaceProb: 0.001,
    joiners: '_-./@\\',
  },
  verticalRatio: 1.5,
  cropSourceFactor: 3,
  gate: { enabled: false, scale: 0.6, minPixels: 250_000, boxThresh: 0.5, minSize: 2 },
};

export type OcrConfigOverrides = {
  [K in keyof OcrConfig]?: OcrConfig[K] extends object ? Partial<OcrConfig[K]> : OcrConfig[K];
};

export function mergeOcrConfig(base: OcrConfig, overrides: OcrConfigOverrides = {}): OcrConfig {
  return {
    det: { ...base.det, ...overrides.det },
    cls: { ...base.cls, ...overrides.cls },
    rec: { ...base.rec, ...overrides.rec },
    spaces: { ...base.spaces, ...overrides.spaces },
    verticalRatio: overrides.verticalRatio ?? base.verticalRatio,
    cropSourceFactor: overrides.cropSourceFactor ?? base.cropSourceFactor,
    gate: { ...base.gate, ...overrides.gate },
  };
}
