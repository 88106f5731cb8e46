/**
 * Deterministic synthetic OCR documents: a seeded PRNG draws each photo's owner, date and text from
 * the word lists in vocabulary.ts. The same seed and count always give the same documents, ids included,
 * so a kept database can be searched again with the same ground truth (--keep / --reuse).
 *
 * A document is lines of segments; the segments say what each piece is (a Chinese or English word, a
 * number, a plate, a code, punctuation), so queries can be drawn from real words of real documents.
 */
import * as V from './vocabulary';

// ---------------------------------------------------------------------------------------------
// PRNG

/** sfc32: small, fast, 128 bits of state, good enough for synthetic data (not for secrets). */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed ^ 0xdeadbeef;
    for (let i = 0; i < 16; i++) this.uint32();
  }

  uint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.uint32() / 4_294_967_296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** n random decimal digits, the first not zero when `leadingNonZero`. */
  digits(n: number, leadingNonZero = true): string {
    let out = leadingNonZero ? String(1 + this.int(9)) : String(this.int(10));
    while (out.length < n) out += String(this.int(10));
    return out;
  }

  /** A version-4 UUID. */
  uuid(): string {
    const hex = [this.uint32(), this.uint32(), this.uint32(), this.uint32()]
      .map((n) => n.toString(16).padStart(8, '0'))
      .join('');
    const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Documents

/** zh / en: a vocabulary word; num: digits; plate: a licence plate; code: letters and digits; sym: the rest. */
export type SegKind = 'zh' | 'en' | 'num' | 'plate' | 'code' | 'sym';

export interface Seg {
  t: string;
  k: SegKind;
}

export type Line = Seg[];

export const DOC_TYPES = [
  'receipt',
  'restaurant',
  'invoice',
  'menu',
  'sign',
  'parking',
  'express',
  'chat',
  'receipt-en',
  'note-en',
  'mixed',
] as const;
export type DocType = (typeof DOC_TYPES)[number];

/** How often each kind of photo occurs (per mille). */
const TYPE_WEIGHTS: Record<DocType, number> = {
  receipt: 130,
  restaurant: 90,
  invoice: 90,
  menu: 60,
  sign: 120,
  parking: 70,
  express: 100,
  chat: 60,
  'receipt-en': 80,
  'note-en': 100,
  mixed: 100,
};

export interface GeneratedDoc {
  index: number;
  id: string;
  owner: number;
  fileCreatedAt: Date;
  /** In the trash: no engine may return it. */
  trashed: boolean;
  type: DocType;
  lines: Line[];
}

export const lineText = (line: Line): string => line.map((seg) => seg.t).join('');
export const docLines = (doc: GeneratedDoc): string[] => doc.lines.map(lineText);

export interface GeneratorOptions {
  seed: number;
  /** Share of documents per user, summing to 1. */
  userShares: readonly number[];
  /** Share of documents in the trash. */
  trashed: number;
}

const FROM = Date.UTC(2014, 0, 1);
const TO = Date.UTC(2026, 0, 1);

const zh = (t: string): Seg => ({ t, k: 'zh' });
const sym = (t: string): Seg => ({ t, k: 'sym' });
const num = (t: string): Seg => ({ t, k: 'num' });
const code = (t: string): Seg => ({ t, k: 'code' });

/** English text: words split on spaces, with the spaces kept as separators. */
function en(text: string): Seg[] {
  const out: Seg[] = [];
  text.split(' ').forEach((word, i) => {
    if (i > 0) out.push(sym(' '));
    out.push({ t: word, k: /^[A-Za-z]+$/.test(word) ? 'en' : 'code' });
  });
  return out;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The documents, one at a time, in a fixed order for a given seed. */
export class DocumentGenerator {
  private readonly rng: Rng;
  private readonly typeTable: DocType[] = [];
  private index = 0;

  constructor(private readonly options: GeneratorOptions) {
    this.rng = new Rng(options.seed);
    for (const type of DOC_TYPES) for (let i = 0; i < TYPE_WEIGHTS[type]; i++) this.typeTable.push(type);
  }

  next(): GeneratedDoc {
    const r = this.rng;
    const id = r.uuid();
    let owner = 0;
    for (let u = r.next(), acc = 0; owner < this.options.userShares.length - 1; owner++) {
      acc += this.options.userShares[owner];
      if (u < acc) break;
    }
    const fileCreatedAt = new Date(FROM + Math.floor(r.next() * (TO - FROM)));
    const trashed = r.chance(this.options.trashed);
    const type = r.pick(this.typeTable);
    const lines = this.lines(type, fileCreatedAt);
    return { index: this.index++, id, owner, fileCreatedAt, trashed, type, lines };
  }

  // ---- pieces ----

  /** Chinese words in a run; OCR sometimes puts a space between words. */
  private zhRun(...words: string[]): Seg[] {
    const out: Seg[] = [];
    words.forEach((word, i) => {
      if (i > 0 && this.rng.chance(0.2)) out.push(sym(' '));
      out.push(zh(word));
    });
    return out;
  }

  private colon(): Seg {
    return sym(this.rng.pick(['：', ':', ': ', ' ']));
  }

  private price(lo = 1, hi = 200): string {
    return `${this.rng.range(lo, hi)}.${pad(this.rng.pick([0, 0, 50, this.rng.int(100)]))}`;
  }

  private dateZh(d: Date): Seg[] {
    return this.rng.chance(0.5)
      ? [
          num(String(d.getUTCFullYear())),
          zh('年'),
          num(pad(d.getUTCMonth() + 1)),
          zh('月'),
          num(pad(d.getUTCDate())),
          zh('日'),
        ]
      : [
          num(String(d.getUTCFullYear())),
          sym('-'),
          num(pad(d.getUTCMonth() + 1)),
          sym('-'),
          num(pad(d.getUTCDate())),
          sym(' '),
          num(pad(d.getUTCHours())),
          sym(':'),
          num(pad(d.getUTCMinutes())),
          sym(':'),
          num(pad(d.getUTCSeconds())),
        ];
  }

  private dateEn(d: Date): Seg[] {
    return [
      num(pad(d.getUTCMonth() + 1)),
      sym('/'),
      num(pad(d.getUTCDate())),
      sym('/'),
      num(String(d.getUTCFullYear())),
      sym(' '),
      num(pad(d.getUTCHours())),
      sym(':'),
      num(pad(d.getUTCMinutes())),
    ];
  }

  /** An order or serial number: the date, then random digits (18 to 20 in all). */
  private orderNumber(d: Date): string {
    const prefix = `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}`;
    return prefix + this.rng.digits(this.rng.range(10, 12), false);
  }

  private company(): Seg[] {
    const r = this.rng;
    return this.zhRun(r.pick(V.CITIES), r.pick(V.COMPANY_PARTS), r.pick(V.COMPANY_TYPES));
  }

  private person(): Seg[] {
    return [zh(this.rng.pick(V.SURNAMES) + this.rng.pick(V.GIVEN_NAMES))];
  }

  private phone(): Seg[] {
    return [
      num(`1${this.rng.pick([3, 5, 8, 9])}${this.rng.digits(1, false)}`),
      sym('****'),
      num(this.rng.digits(4, false)),
    ];
  }

  private address(): Seg[] {
    const r = this.rng;
    return [
      ...this.zhRun(r.pick(V.CITIES), r.pick(V.DISTRICTS), r.pick(V.STREETS)),
      num(String(r.range(1, 999))),
      zh('号'),
    ];
  }

  /** 京A·12345 as printed on receipts, or as read off the plate (京A12345, 京A 12345). */
  plate(): Seg {
    const r = this.rng;
    const body = r.chance(0.15) ? `${r.digits(4, false)}${r.pick([...V.PLATE_LETTERS])}` : r.digits(5, false);
    const sep = r.pick(['·', '·', '', '', ' ']);
    return { t: `${r.pick(V.PROVINCES)}${r.pick([...V.PLATE_LETTERS])}${sep}${body}`, k: 'plate' };
  }

  // ---- documents ----

  private lines(type: DocType, d: Date): Line[] {
    switch (type) {
      case 'receipt':
        return this.receipt(d);
      case 'restaurant':
        return this.restaurant(d);
      case 'invoice':
        return this.invoice(d);
      case 'menu':
        return this.menu();
      case 'sign':
        return this.sign();
      case 'parking':
        return this.parking(d);
      case 'express':
        return this.express(d);
      case 'chat':
        return this.chat();
      case 'receipt-en':
        return this.receiptEn(d);
      case 'note-en':
        return this.noteEn();
      case 'mixed':
        return this.mixed();
    }
  }

  private receipt(d: Date): Line[] {
    const r = this.rng;
    const lines: Line[] = [];
    const header = r.chance(0.4) ? [r.pick(V.CITIES), r.pick(V.STORE_BRANDS)] : [r.pick(V.STORE_BRANDS)];
    lines.push(this.zhRun(...header, r.pick(V.STORE_TYPES)));
    if (r.chance(0.6)) lines.push([zh('地址'), this.colon(), ...this.address()]);
    lines.push([zh('交易时间'), this.colon(), ...this.dateZh(d)]);
    lines.push([zh(r.pick(['流水号', '订单号', '单号'])), this.colon(), num(this.orderNumber(d))]);
    for (let i = r.range(2, 9); i > 0; i--) {
      lines.push([zh(r.pick(V.GROCERIES)), sym(' x'), num(String(r.range(1, 5))), sym(' ¥'), num(this.price(2, 80))]);
    }
    lines.push([zh('合计'), this.colon(), sym('¥'), num(this.price(10, 600))]);
    if (r.chance(0.5)) lines.push([zh('优惠'), this.colon(), sym('-'), num(this.price(1, 30))]);
    lines.push([zh(r.pick(V.PAYMENTS)), sym(' '), num(this.price(10, 600))]);
    if (r.chance(0.5)) lines.push([zh('收银员'), this.colon(), num(r.digits(3, false))]);
    lines.push([zh(r.pick(['谢谢惠顾', '欢迎再次光临', '凭小票退换货']))]);
    return lines;
  }

  private restaurant(d: Date): Line[] {
    const r = this.rng;
    const lines: Line[] = [this.zhRun(r.pick(V.CITIES), r.pick(V.COMPANY_PARTS), r.pick(V.RESTAURANT_WORDS))];
    lines.push([
      zh('桌号'),
      this.colon(),
      code(`${r.pick(['A', 'B', 'C', 'V'])}${r.range(1, 30)}`),
      sym(' '),
      zh('人数'),
      this.colon(),
      num(String(r.range(1, 10))),
    ]);
    lines.push([zh('订单号'), this.colon(), num(this.orderNumber(d))]);
    lines.push(this.dateZh(d));
    for (let i = r.range(2, 8); i > 0; i--) {
      lines.push([zh(r.pick(V.DISHES)), sym(' '), num(String(r.range(1, 3))), sym(' '), num(this.price(12, 168))]);
    }
    if (r.chance(0.4)) lines.push([zh('餐位费'), sym(' '), num(String(r.range(2, 10)))]);
    lines.push([zh('合计'), this.colon(), num(this.price(40, 1200))]);
    lines.push([zh(r.pick(V.PAYMENTS))]);
    if (r.chance(0.5)) lines.push([zh('服务员'), this.colon(), ...this.person()]);
    return lines;
  }

  private invoice(d: Date): Line[] {
    const r = this.rng;
    const kind = r.pick(['普通发票', '专用发票', '电子发票']);
    const lines: Line[] = [this.zhRun(r.pick(V.CITIES), '增值税', kind)];
    lines.push([zh('发票代码'), this.colon(), num(r.digits(12, false))]);
    lines.push([zh('发票号码'), this.colon(), num(r.digits(8, false))]);
    lines.push([zh('开票日期'), this.colon(), ...this.dateZh(d).slice(0, 6)]);
    if (r.chance(0.6)) {
      lines.push([
        zh('校验码'),
        this.colon(),
        ...[0, 1, 2, 3].flatMap((i) => [...(i ? [sym(' ')] : []), num(r.digits(5, false))]),
      ]);
    }
    lines.push([zh('购买方'), sym(' '), zh('名称'), this.colon(), ...this.company()]);
    lines.push([
      zh('纳税人识别号'),
      this.colon(),
      code(
        `91${r.digits(4, false)}${r.pick(['MA', 'MA1', ''])}${r.digits(6, false)}${r.pick([...V.PLATE_LETTERS])}${r.digits(2, false)}`,
      ),
    ]);
    for (let i = r.range(1, 4); i > 0; i--) {
      const item = r.pick(['餐饮服务', '办公用品', '技术服务', '咨询服务', '住宿服务', '运输服务']);
      lines.push([
        sym('*'),
        zh(item),
        sym('* '),
        zh(r.pick(V.GROCERIES)),
        sym(' '),
        num(this.price(10, 5000)),
        sym(' '),
        num(String(r.pick([3, 6, 9, 13]))),
        sym('% '),
        num(this.price(1, 300)),
      ]);
    }
    lines.push([zh('价税合计'), sym('（'), zh('小写'), sym('）¥'), num(this.price(50, 9999))]);
    lines.push([zh('销售方'), sym(' '), zh('名称'), this.colon(), ...this.company()]);
    if (r.chance(0.5))
      lines.push([zh('开户行'), sym(' '), zh(r.pick(['中国银行', '工商银行', '建设银行', '农业银行', '招商银行']))]);
    lines.push([zh('开票人'), this.colon(), ...this.person()]);
    return lines;
  }

  private menu(): Line[] {
    const r = this.rng;
    const lines: Line[] = [this.zhRun(r.pick(V.COMPANY_PARTS), r.pick(V.RESTAURANT_WORDS))];
    for (let s = r.range(1, 3); s > 0; s--) {
      lines.push([zh(r.pick(V.MENU_SECTIONS))]);
      for (let i = r.range(3, 7); i > 0; i--) {
        lines.push([
          zh(r.pick(V.DISHES)),
          sym(r.pick([' ', ' ¥', ' '])),
          num(String(r.range(8, 188))),
          ...(r.chance(0.5) ? [zh('元')] : []),
        ]);
      }
    }
    return lines;
  }

  private sign(): Line[] {
    const r = this.rng;
    const lines: Line[] = [];
    for (let i = r.range(1, 3); i > 0; i--) {
      const [chinese, english] = r.pick(V.SIGN_PAIRS);
      if (r.chance(0.5)) lines.push([zh(chinese), sym(' '), ...en(english)]);
      else lines.push([zh(chinese)], en(r.chance(0.3) ? english.toUpperCase() : english));
    }
    if (r.chance(0.3))
      lines.push([
        zh('营业时间'),
        sym(' '),
        num(pad(r.range(6, 10))),
        sym(':00-'),
        num(String(r.range(18, 23))),
        sym(':00'),
      ]);
    if (r.chance(0.3))
      lines.push([
        zh('地铁'),
        num(String(r.range(1, 18))),
        zh('号线'),
        sym(' '),
        ...this.zhRun(r.pick(V.STREETS), '站'),
      ]);
    if (r.chance(0.3)) lines.push(this.zhRun(r.pick(V.SIGN_WORDS), r.pick(V.SIGN_WORDS)));
    return lines;
  }

  private parking(d: Date): Line[] {
    const r = this.rng;
    if (r.chance(0.4)) return [[this.plate()]]; // a photo of a car: the plate alone
    const lines: Line[] = [this.zhRun(r.pick(V.CITIES), r.pick(V.COMPANY_PARTS), '停车场')];
    lines.push([zh('车牌号'), this.colon(), this.plate()]);
    lines.push([zh('入场时间'), this.colon(), ...this.dateZh(d)]);
    lines.push([
      zh('停车时长'),
      this.colon(),
      num(String(r.range(0, 12))),
      zh('小时'),
      num(String(r.range(0, 59))),
      zh('分'),
    ]);
    lines.push([zh('停车费'), this.colon(), num(String(r.range(0, 80))), zh('元')]);
    lines.push([zh(r.pick(['一路顺风', '欢迎光临', '临时车', '月租车']))]);
    return lines;
  }

  private express(d: Date): Line[] {
    const r = this.rng;
    if (r.chance(0.4)) {
      // an online shop's order screen
      return [
        [zh(r.pick(V.SHOPS_ONLINE)), sym(' '), zh(r.pick(['已发货', '待收货', '派送中', '签收']))],
        [zh(r.pick(['订单编号', '订单号'])), this.colon(), num(this.orderNumber(d))],
        [zh(r.pick(V.GROCERIES)), sym(' ¥'), num(this.price(5, 999))],
        [zh('收货地址'), this.colon(), ...this.address()],
      ];
    }
    const brand = r.pick(V.EXPRESS_BRANDS);
    const waybill = brand === '顺丰速运' ? code(`SF${r.digits(13, false)}`) : num(r.digits(r.range(12, 15)));
    const lines: Line[] = [[zh(brand)], [zh('运单号'), this.colon(), waybill]];
    lines.push([zh('收件人'), this.colon(), ...this.person(), sym(' '), ...this.phone()]);
    lines.push([zh('收货地址'), this.colon(), ...this.address()]);
    lines.push([zh('寄件人'), this.colon(), ...this.person(), sym(' '), ...this.phone()]);
    if (r.chance(0.5)) lines.push([zh('重量'), this.colon(), num(`${r.range(0, 20)}.${r.int(10)}`), code('kg')]);
    lines.push([zh(r.pick(['寄付', '到付', '保价']))]);
    return lines;
  }

  private chat(): Line[] {
    const r = this.rng;
    const lines: Line[] = [];
    for (let i = r.range(2, 7); i > 0; i--) {
      if (r.chance(0.3)) lines.push([num(pad(r.range(7, 23))), sym(':'), num(pad(r.int(60)))]);
      const words = Array.from({ length: r.range(2, 6) }, () => r.pick(V.CHAT_WORDS));
      const line: Line = [];
      words.forEach((word, j) => {
        if (j > 0 && r.chance(0.2)) line.push(sym(r.pick(['，', '。', ' '])));
        line.push(zh(word));
      });
      lines.push(line);
    }
    return lines;
  }

  private receiptEn(d: Date): Line[] {
    const r = this.rng;
    const lines: Line[] = [en(r.pick(V.EN_STORES))];
    lines.push([num(String(r.range(1, 999))), sym(' '), ...en(r.pick(V.EN_STREETS))]);
    lines.push(this.dateEn(d));
    for (let i = r.range(1, 6); i > 0; i--)
      lines.push([...en(r.pick(V.EN_RECEIPT_ITEMS)), sym(' '), num(this.price(1, 25))]);
    lines.push([...en('Subtotal'), sym(' '), num(this.price(5, 90))]);
    lines.push([...en('Tax'), sym(' '), num(this.price(0, 9))]);
    lines.push([...en(r.pick(['Total', 'TOTAL', 'Amount Due'])), sym(' '), num(this.price(5, 99))]);
    lines.push([...en(r.pick(['VISA', 'Mastercard', 'Cash', 'Amex'])), sym(' ****'), num(r.digits(4, false))]);
    lines.push([...en('Order'), sym(' #'), num(r.digits(r.range(6, 14)))]);
    lines.push(en(r.pick(['Thank you', 'Thank you for visiting', 'Have a nice day', 'Welcome back'])));
    return lines;
  }

  private noteEn(): Line[] {
    const r = this.rng;
    const lines: Line[] = [
      en(`${r.pick(['Meeting notes', 'Todo', 'Shopping list', 'Notes', 'Reminder'])} ${r.pick(V.WEEKDAYS)}`),
    ];
    for (let i = r.range(2, 7); i > 0; i--) {
      const words = Array.from({ length: r.range(2, 6) }, () => r.pick(V.EN_NOTE_WORDS));
      if (r.chance(0.3)) words.push(r.pick(V.MONTHS), String(r.range(1, 28)));
      if (r.chance(0.2)) words[0] = words[0][0].toUpperCase() + words[0].slice(1);
      lines.push(en(words.join(' ')));
    }
    return lines;
  }

  private mixed(): Line[] {
    const r = this.rng;
    const lines: Line[] = [];
    for (let i = r.range(1, 4); i > 0; i--) {
      const [chinese, english] = r.pick(V.MIXED_PAIRS);
      const tail = r.chance(0.5)
        ? [
            sym(r.pick([': ', ' ', '：'])),
            r.chance(0.5)
              ? num(r.digits(r.range(3, 6)))
              : code(`${r.pick(['abc', 'cn', 'room', 'gate', 'ca', 'mu'])}${r.digits(r.range(3, 8), false)}`),
          ]
        : [];
      lines.push(
        r.chance(0.5)
          ? [zh(chinese), sym(' '), ...en(english), ...tail]
          : [...en(english), sym(' '), zh(chinese), ...tail],
      );
    }
    return lines;
  }
}
