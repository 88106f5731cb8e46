import { migrateToLatest } from '../../src/extension/database/migrator';
import { OcrDocumentRepository } from '../../src/extension/ocr/ocr-document.repository';
import { isoDate } from '../../src/extension/search/candidate-selection';
import { parseQuery } from '../../src/extension/search/query-parser';
import { SearchRepository } from '../../src/extension/search/search.repository';
import { CharacterSegmenter, JiebaSegmenter, Segmenter, ZhparserSegmenter } from '../../src/extension/search/segmenter';
import { createTestDatabase, seedAsset, seedUser, TestDatabase } from '../support/immich-database';
import { CorpusDoc, fillerDocs, TARGET_DOCS } from './support/search-corpus';

/**
 * Search quality on a corpus of 224 OCR documents, in both segmentation modes: what each kind of
 * query finds, and in what order. The expectations are the same for zhparser and jieba; the
 * characters-only fallback (no segmenter at all) finds the same, without the whole-word ranking.
 */

const DAY = 86_400_000;
const NOW = Date.parse('2026-06-01T00:00:00Z');

describe.each<[string, () => Segmenter]>([
  ['zhparser', () => new ZhparserSegmenter()],
  ['jieba', () => new JiebaSegmenter()],
  ['characters only', () => new CharacterSegmenter()],
])('search quality with %s', (_mode, makeSegmenter) => {
  const wordsRankHigher = _mode !== 'characters only';
  let database: TestDatabase;
  let search: SearchRepository;
  let userId: string;
  const keyOf = new Map<string, string>();
  const corpus: CorpusDoc[] = [...TARGET_DOCS, ...fillerDocs(200)];

  beforeAll(async () => {
    database = await createTestDatabase(`quality_${_mode.split(' ')[0]}`);
    await migrateToLatest(database.db);
    const segmenter = makeSegmenter();
    const documents = new OcrDocumentRepository(database.db, segmenter);
    search = new SearchRepository(database.db, segmenter);
    userId = (await seedUser(database.db)).id;
    for (const doc of corpus) {
      const assetId = await seedAsset(database.db, {
        ownerId: userId,
        fileCreatedAt: new Date(NOW - (doc.daysAgo ?? 30) * DAY),
      });
      keyOf.set(assetId, doc.key);
      await documents.replace(assetId, {
        source: 'inference',
        model: 'test',
        attempts: 1,
        lines: doc.lines.map((text) => ({ text, boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] })),
      });
    }
  });

  afterAll(() => database.drop());

  const find = async (query: string): Promise<string[]> => {
    const { items } = await search.searchOcr(parseQuery(`ocr: ${query}`), { userIds: [userId], page: 1, size: 100 });
    return items.map((item) => keyOf.get(item.assetId)!);
  };
  const expectFound = async (query: string, expected: string[]) => {
    expect((await find(query)).sort()).toEqual([...expected].sort());
  };

  it('has the corpus it claims', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
  });

  it('finds every document with a one-character Chinese query', async () => {
    await expectFound('鱼', ['fish-dish', 'fish-word']);
    await expectFound('税', ['vat-special', 'vat-normal', 'vat-spaced']);
  });

  it('finds a substring that cuts across words, also across the spaces OCR puts between words', async () => {
    await expectFound('值税', ['vat-special', 'vat-normal', 'vat-spaced']);
    await expectFound('税发', ['vat-spaced']);
    await expectFound('烧鱼', ['fish-dish']);
  });

  it('ANDs the words of a multi-word query', async () => {
    await expectFound('增值税 发票', ['vat-special', 'vat-normal', 'vat-spaced']);
    await expectFound('发票 代码', ['vat-special']);
    await expectFound('杭州 lake', ['westlake']);
  });

  it('matches Latin words in any case, and full-width letters as plain ones', async () => {
    for (const query of ['exit', 'EXIT', 'Exit']) await expectFound(query, ['exit-sign', 'exit-lower']);
    await expectFound('abc123', ['fullwidth']);
    await expectFound('ＡＢＣ１２３', ['fullwidth']);
  });

  it('finds fragments of long numbers and plates (3+ letters/digits)', async () => {
    await expectFound('0506123', ['order-cn']);
    await expectFound('8899001', ['order-en']);
    await expectFound('A12345', ['plate-bj']);
    await expectFound('2345', ['plate-bj']);
    await expectFound('京A', ['plate-bj']);
    await expectFound('6789C', ['plate-sh']);
    await expectFound('沪B6789C', ['plate-sh']);
    await expectFound('55556666', ['order-cn']);
  });

  it('matches a quoted phrase only in that order', async () => {
    await expectFound('"notes monday"', ['meeting']);
    await expectFound('meeting notes', ['meeting', 'meeting-reversed']);
    await expectFound('"action items"', ['meeting']);
  });

  it('excludes -words and accepts OR', async () => {
    await expectFound('增值税 -普通', ['vat-special', 'vat-spaced']);
    await expectFound('发票 -专用 -draft', ['vat-normal', 'vat-spaced', 'invoice-cross']);
    await expectFound('火锅 OR 烧烤', ['hotpot', 'bbq']);
    await expectFound('火锅 OR 烧烤 啤酒', ['bbq']);
  });

  it('never matches on fewer words than were typed (a segmenter that drops a word)', async () => {
    await expectFound('左转', ['turn-left']);
    await expectFound('"左转 500"', ['turn-left']);
  });

  it('handles mixed Chinese + Latin queries', async () => {
    await expectFound('面包 bread', ['bread']);
    await expectFound('西湖 hangzhou', ['westlake']);
  });

  (wordsRankHigher ? it : it.skip)('ranks whole words above substrings', async () => {
    const bread = await find('bread');
    expect(bread).toEqual(['bread', 'breadcrumbs']);
    // 出发|票价: 发票 only as characters across two words, so below the documents with the word 发票.
    const invoices = await find('发票');
    expect([...invoices].sort()).toEqual(
      ['draft-invoice', 'invoice-cross', 'vat-normal', 'vat-spaced', 'vat-special'].sort(),
    );
    expect(invoices.indexOf('invoice-cross')).toBeGreaterThan(invoices.indexOf('vat-spaced'));
    expect(invoices.indexOf('invoice-cross')).toBeGreaterThan(invoices.indexOf('draft-invoice'));
  });

  it('ranks the newest matches with the newest whole-word ones, then every other match in windows by date', async () => {
    // Another user: five new photos with 发票 only across words (出发|票价), one old photo with the word.
    const owner = (await seedUser(database.db)).id;
    const documents = new OcrDocumentRepository(database.db, makeSegmenter());
    const key = new Map<string, string>();
    const add = async (name: string, text: string, daysAgo: number) => {
      const assetId = await seedAsset(database.db, { ownerId: owner, fileCreatedAt: new Date(NOW - daysAgo * DAY) });
      key.set(assetId, name);
      const line = { text, boxScore: 0.9, textScore: 0.9, box: [0, 0, 1, 0, 1, 1, 0, 1] as const };
      await documents.replace(assetId, { source: 'inference', model: 'test', attempts: 1, lines: [{ ...line }] });
    };
    for (let i = 1; i <= 5; i++) await add(`cross-${i}`, '出发票价八折', i);
    await add('old-word', '增值税 发票 联次', 400);
    const { items, hasNextPage } = await search.searchOcr(parseQuery('ocr: 发票'), {
      userIds: [owner],
      page: 1,
      size: 10,
      textCandidates: 2,
    });
    const found = items.map((item) => key.get(item.assetId));
    // The old photo with the word is not crowded out by newer substring matches: it joins the first
    // window and ranks first; without words (characters only) it comes in its own window, by date.
    // Every match is there, each once.
    expect(found).toEqual(
      wordsRankHigher
        ? ['old-word', 'cross-1', 'cross-2', 'cross-3', 'cross-4', 'cross-5']
        : ['cross-1', 'cross-2', 'cross-3', 'cross-4', 'cross-5', 'old-word'],
    );
    expect(items.map((item) => item.ocrRank)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hasNextPage).toBe(false);
  });

  it('reaches back in stages (walk, then the indexes) and finds the newest matches after any position', async () => {
    // With 224 documents, 1, 3, 7 and 30 candidates walk the newest 3, 9, 21 and 90; then the indexes
    // search windows of older documents sized from the rate of matches so far (1, 3 and 7: the scope
    // holds 30 per candidate, so windows can be dated), then the rest. Common, rare, OR'd and
    // excluded terms, from the top and from the middle of the matches.
    const byKey = (a: { date: number; id: string }, b: { date: number; id: string }) =>
      b.date - a.date || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
    for (const query of ['号', 'garden', '春天', '收据', '收据 OR garden', '春天 -garden']) {
      const parsed = parseQuery(`ocr: ${query}`);
      const all = (
        await search.searchOcr(parsed, { userIds: [userId], page: 1, size: 1000, textCandidates: 100_000 })
      ).items
        .map((item) => ({ id: item.assetId, date: item.fileCreatedAt.getTime() }))
        .sort(byKey);
      expect({ query, found: all.length > 0 }).toEqual({ query, found: true });
      for (const k of [1, 3, 7, 30])
        for (const start of [0, Math.floor(all.length / 2)]) {
          const after = start === 0 ? null : { date: isoDate(all[start - 1].date), assetId: all[start - 1].id };
          const window = (await search.newestMatches(parsed, [userId], ['all'], after, k)).get('all')!;
          expect({ query, k, start, ids: window.map((m) => m.assetId) }).toEqual({
            query,
            k,
            start,
            ids: all.slice(start, start + k).map((m) => m.id),
          });
        }
    }
  });

  it('breaks ties by date, newest first', async () => {
    expect(await find('收据')).toEqual(['receipt-new', 'receipt-old']);
  });

  it('finds nothing for text that is not there, and never fails on hostile input', async () => {
    await expectFound('不存在的词', []);
    await expectFound('zzzz', []);
    const hostile = [
      "'",
      '"',
      '\\',
      "\\'",
      '&|!:*()',
      "a & b | !c:* (d)'",
      '🐱🐶',
      'x\u0000y',
      '<->',
      '!!!',
      "''''",
      'OR',
      '-',
      '-"',
      'x'.repeat(499),
    ];
    for (const query of hostile) await expect(find(query)).resolves.toBeInstanceOf(Array);
    await expectFound('鱼\u0000', ['fish-dish', 'fish-word']);
  });
});
