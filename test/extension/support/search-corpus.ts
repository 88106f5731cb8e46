/**
 * The search-quality corpus: documents written to be found (receipts, invoices, signs, plates, order
 * numbers, notes, in Chinese, English and both) among generated filler that none of the queries in
 * search-quality.spec.ts may match. `daysAgo` sets fileCreatedAt, for the date tie-break.
 */

export interface CorpusDoc {
  key: string;
  lines: string[];
  daysAgo?: number;
}

export const TARGET_DOCS: CorpusDoc[] = [
  { key: 'vat-special', lines: ['增值税专用发票', '发票代码 3100211130', '开票日期 2024年03月15日'] },
  { key: 'vat-normal', lines: ['增值税普通发票', '购买方 上海某某科技有限公司'] },
  { key: 'vat-spaced', lines: ['增值税 发票 联次'] },
  { key: 'invoice-cross', lines: ['出发票价八折'] },
  { key: 'fish-dish', lines: ['红烧鱼 58元', '米饭 2元'] },
  { key: 'fish-word', lines: ['今日鲜鱼 特价'] },
  { key: 'hotpot', lines: ['火锅店 营业中', '人均消费 88元'] },
  { key: 'bbq', lines: ['烧烤 夜宵', '啤酒 10元'] },
  { key: 'exit-sign', lines: ['出口 EXIT', '安全通道'] },
  { key: 'exit-lower', lines: ['emergency exit only'] },
  { key: 'meeting', lines: ['Meeting notes Monday', 'Action items for the team'] },
  { key: 'meeting-reversed', lines: ['Monday meeting: notes later'] },
  { key: 'order-cn', lines: ['订单编号 20240506123', '联系电话 021-55556666'] },
  { key: 'order-en', lines: ['Order No. 778899001122', 'Thank you for shopping'] },
  { key: 'plate-bj', lines: ['京A12345'] },
  { key: 'plate-sh', lines: ['沪B·6789C 临时停车'] },
  { key: 'bread', lines: ['便利店 收银小票', '面包 Bread 6.50', '合计 8.50'] },
  { key: 'breadcrumbs', lines: ['Breadcrumbs navigation guide'] },
  { key: 'westlake', lines: ['杭州西湖 断桥残雪', 'West Lake Hangzhou'] },
  { key: 'weather', lines: ['今天天气很好', 'Hello World 2024'] },
  { key: 'receipt-old', lines: ['收据 No.0001'], daysAgo: 400 },
  { key: 'receipt-new', lines: ['收据 No.0002'], daysAgo: 3 },
  { key: 'draft-invoice', lines: ['发票 草稿 draft'] },
  { key: 'fullwidth', lines: ['ＡＢＣ１２３ 全角字符'] },
  // zhparser drops 左 (a direction) from a query; only the first of these holds 左转.
  { key: 'turn-left', lines: ['前方路口 左转 500米'] },
  { key: 'turn-word', lines: ['转', '请稍候'] },
];

/** Filler vocabulary: none of it contains a query term of the spec (checked there). */
const FILLER_CN = [
  '春天',
  '花园',
  '学校',
  '图书馆',
  '电影院',
  '公园',
  '地铁站',
  '医院',
  '银行',
  '超市',
  '咖啡',
  '蛋糕',
  '水果',
  '蔬菜',
  '书店',
  '博物馆',
  '广场',
  '大楼',
  '小区',
  '停车场',
];
const FILLER_EN = [
  'garden',
  'school',
  'library',
  'cinema',
  'park',
  'station',
  'hospital',
  'market',
  'coffee',
  'cake',
  'fruit',
  'museum',
  'square',
  'tower',
  'morning',
  'sunday',
  'welcome',
  'open',
  'closed',
  'sale',
];

export function fillerDocs(count = 200): CorpusDoc[] {
  const docs: CorpusDoc[] = [];
  let seed = 7;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let i = 0; i < count; i++) {
    const lines: string[] = [];
    const lineCount = 1 + next(3);
    for (let l = 0; l < lineCount; l++) {
      const kind = next(3);
      if (kind === 0) lines.push(`${FILLER_CN[next(20)]}${FILLER_CN[next(20)]} ${next(90) + 10}号`);
      else if (kind === 1) lines.push(`${FILLER_EN[next(20)]} ${FILLER_EN[next(20)]} ${next(9000) + 1000}`);
      else lines.push(`${FILLER_CN[next(20)]} ${FILLER_EN[next(20)]}`);
    }
    docs.push({ key: `filler-${i}`, lines, daysAgo: 10 + next(300) });
  }
  return docs;
}
