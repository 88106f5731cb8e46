/**
 * Makes the real-image OCR sets (test/fixtures/ocr-real-tuning/ and ocr-real-heldout/):
 *
 *   mkdir /tmp/debs && cd /tmp/debs && apt-get download opencv-doc python3-skimage
 *   for f in *.deb; do dpkg -x "$f" x; done
 *   apt-get install chromium fonts-wqy-microhei fonts-wqy-zenhei fonts-arphic-ukai fonts-arphic-uming
 *   npm run fixtures:ocr-real -- /tmp/debs/x
 *
 * Two kinds of image, each set holding every case the engine once missed (a small screenshot with
 * one word in large type, a one-line strip, a two-line strip, a dense label, white text on a
 * transparent PNG, columns of vertical Chinese) and text of its own:
 * - screenshots: Debian's Chromium (playwright-core) renders a page of the given size and takes a
 *   PNG screenshot of it, as a user's screenshot is made; transparent ones without a background;
 * - photographs and scans with text from two Debian packages, copied byte for byte.
 * truth.json lists each image's lines in reading order (vertical columns right to left). The output is
 * committed: tests never render, so a clone needs neither Chromium nor the fonts. Sources and licences:
 * the README.md in each folder.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser } from './browser';

export type RealSetName = 'tuning' | 'heldout';

interface Screenshot {
  name: string;
  width: number;
  height: number;
  /** Body CSS and HTML; each line of text is one element with white-space: nowrap. */
  css: string;
  html: string;
  lines: string[];
  transparent?: boolean;
}

const OPENCV = 'usr/share/doc/opencv-doc/examples/data';
const SKIMAGE = 'usr/lib/python3/dist-packages/skimage/data';

/** [set, output file, source inside the extracted packages, lines in reading order] */
export const DEBIAN_SOURCES: Array<[RealSetName, string, string, string[]]> = [
  [
    'tuning',
    'box-photo.png',
    `${OPENCV}/box.png`,
    [
      'Product of Italy',
      'Crisp Almond Cookies',
      'Famosi',
      'BASTONCINI',
      'Cantuccini',
      'alla Mandorla',
      'PAN DUCALE',
      'ATRI',
      'Peso Netto 250 g e NET WT 8.8 OZ',
    ],
  ],
  [
    'heldout',
    'text-page.png',
    `${SKIMAGE}/bw_text.png`,
    [
      'Men may seem detestable as joint',
      'stock-companies and nations; knaves,',
      'fools, and murderers there may be;',
      'men may have mean and meagre',
      'faces; but, man, in the ideal, is so',
      'noble and so sparkling, such a grand',
      'and glowing creature, that over any',
      'ignominious blemish in him all his',
      'fellows should run to throw their',
      'costliest robes.',
    ],
  ],
  ['tuning', 'music-notes.png', `${OPENCV}/notes.png`, []],
  ['heldout', 'logo-white.png', `${OPENCV}/opencv-logo-white.png`, ['OpenCV']],
  [
    'tuning',
    'book-photo.png',
    `${SKIMAGE}/page.png`,
    [
      'Region-based segmentation',
      'Let us first determine markers of the coins and the',
      'background. These markers are pixels that we can label',
      'unambiguously as either object or background. Here,',
      'the markers are found at the two extreme parts of the',
      'histogram of grey values:',
      '>>> markers = np.zeros_like(coins)',
    ],
  ],
  [
    'heldout',
    'book-scan.png',
    `${OPENCV}/imageTextN.png`,
    [
      'technical details are too complex to cover in the book itself.',
      'In teaching our courses, we have found it useful for the students to attempt a number of',
      'small implementation projects, which often build on one another, in order to get them used to',
      'working with real-world images and the challenges that these present. The students are then',
      'asked to choose an individual topic for each of their small-group, final projects. (Sometimes',
      'these projects even turn into conference papers!) The exercises at the end of each chapter',
      'contain numerous suggestions for smaller mid-term projects, as well as more open-ended',
      'problems whose solutions are still active research topics. Wherever possible, I encourage',
      'students to try their algorithms on their own personal photographs, since this better motivates',
      'them, often leads to creative variants on the problems, and better acquaints them with the',
      'variety and complexity of real-world imagery.',
      'In formulating and solving computer vision problems, I have often found it useful to draw',
      'inspiration from three high-level approaches:',
    ],
  ],
];

const line = (text: string, style = '') => `<div style="white-space:nowrap;${style}">${text}</div>`;

/** Columns of vertical Chinese, first column rightmost (writing-mode vertical-rl). */
const columns = (texts: string[], style: string) =>
  `<div style="writing-mode:vertical-rl;${style}">${texts.map((t) => `<div>${t}</div>`).join('')}</div>`;

const TUNING: Screenshot[] = [
  {
    name: 'small-word',
    width: 259,
    height: 133,
    css: "background:#f4f4f4;font-family:'WenQuanYi Micro Hei';color:#222;text-align:center",
    html:
      line('登录', 'font-size:64px;font-weight:bold;padding-top:14px') + line('欢迎回来', 'font-size:14px;color:#777'),
    lines: ['登录', '欢迎回来'],
  },
  {
    name: 'strip-line',
    width: 445,
    height: 39,
    css: "background:#fff;font-family:'WenQuanYi Micro Hei';color:#111;padding:5px 8px;font-size:26px;line-height:29px",
    html: line('第十二届儿童文学奖获奖作品展'),
    lines: ['第十二届儿童文学奖获奖作品展'],
  },
  {
    name: 'strip-two',
    width: 1167,
    height: 54,
    css: "background:#fff;font-family:'WenQuanYi Micro Hei';color:#222;padding:3px 6px;font-size:17px;line-height:24px",
    html:
      line(
        '第一条 为规范相册管理，保护用户隐私，依据有关法律法规，制定本办法。本办法适用于平台上存储的全部照片与视频。',
      ) + line('第二条 用户上传的照片仅用于备份与检索，未经用户同意，平台不得向第三方提供任何原始文件或识别结果。'),
    lines: [
      '第一条 为规范相册管理，保护用户隐私，依据有关法律法规，制定本办法。本办法适用于平台上存储的全部照片与视频。',
      '第二条 用户上传的照片仅用于备份与检索，未经用户同意，平台不得向第三方提供任何原始文件或识别结果。',
    ],
  },
  {
    name: 'dense-label',
    width: 323,
    height: 430,
    css: "background:#fbf6ea;font-family:'WenQuanYi Micro Hei';color:#222;padding:8px 12px;font-size:13px;line-height:20px",
    html: [
      line('有机燕麦片', 'font-size:22px;font-weight:bold;line-height:30px'),
      line('Organic Rolled Oats', 'font-size:14px'),
      line('净含量：500克'),
      line('营养成分表', 'font-weight:bold;margin-top:4px'),
      line('项目 每100克 营养素参考值%'),
      line('能量 1580千焦 19%'),
      line('蛋白质 12.5克 21%'),
      line('脂肪 7.0克 12%'),
      line('碳水化合物 60.2克 20%'),
      line('膳食纤维 9.8克 39%'),
      line('钠 5毫克 0%'),
      line('配料：全粒燕麦'),
      line('保质期：12个月'),
      line('贮存条件：请置于阴凉干燥处'),
      line('生产日期：见封口处'),
      line('产地：内蒙古自治区'),
      line('食品生产许可证号 SC10115010500123'),
      line('Best before: see top of pack'),
    ].join(''),
    lines: [
      '有机燕麦片',
      'Organic Rolled Oats',
      '净含量：500克',
      '营养成分表',
      '项目 每100克 营养素参考值%',
      '能量 1580千焦 19%',
      '蛋白质 12.5克 21%',
      '脂肪 7.0克 12%',
      '碳水化合物 60.2克 20%',
      '膳食纤维 9.8克 39%',
      '钠 5毫克 0%',
      '配料：全粒燕麦',
      '保质期：12个月',
      '贮存条件：请置于阴凉干燥处',
      '生产日期：见封口处',
      '产地：内蒙古自治区',
      '食品生产许可证号 SC10115010500123',
      'Best before: see top of pack',
    ],
  },
  {
    name: 'transparent-white',
    width: 360,
    height: 110,
    transparent: true,
    css: "font-family:'WenQuanYi Micro Hei';color:#fff;padding:14px 20px;font-size:34px;line-height:42px",
    html: line('夜间模式') + line('Night Mode', 'font-size:28px'),
    lines: ['夜间模式', 'Night Mode'],
  },
  {
    name: 'vertical',
    width: 834,
    height: 2036,
    css: "background:#fffdf5;font-family:'AR PL UKai CN';color:#1a1a1a;font-size:104px;line-height:180px;padding:120px 57px",
    html: columns(
      [
        '春江潮水连海平海上明月共潮生',
        '滟滟随波千万里何处春江无月明',
        '江流宛转绕芳甸月照花林皆似霰',
        '空里流霜不觉飞汀上白沙看不见',
      ],
      'height:1500px',
    ),
    lines: [
      '春江潮水连海平海上明月共潮生',
      '滟滟随波千万里何处春江无月明',
      '江流宛转绕芳甸月照花林皆似霰',
      '空里流霜不觉飞汀上白沙看不见',
    ],
  },
  {
    name: 'vertical-spaced',
    width: 834,
    height: 2036,
    css: "background:#fff;font-family:'AR PL UKai CN';color:#111;font-size:90px;line-height:200px;letter-spacing:40px;padding:100px 30px",
    html: columns(['江畔何人初见月', '江月何年初照人', '人生代代无穷已', '江月年年望相似'], 'height:1900px'),
    lines: ['江畔何人初见月', '江月何年初照人', '人生代代无穷已', '江月年年望相似'],
  },
];

const HELDOUT: Screenshot[] = [
  {
    name: 'small-word',
    width: 232,
    height: 120,
    css: "background:#2e7d32;font-family:'WenQuanYi Zen Hei';color:#fff;text-align:center",
    html: line('咖啡', 'font-size:58px;padding-top:12px') + line('Coffee & Tea', 'font-size:13px;color:#e0f0e0'),
    lines: ['咖啡', 'Coffee & Tea'],
  },
  {
    name: 'strip-line',
    width: 520,
    height: 44,
    css: "background:#eef3fa;font-family:'AR PL UMing CN';color:#0b2a55;padding:6px 10px;font-size:27px;line-height:32px",
    html: line('二〇二四年春季学期期末考试成绩查询'),
    lines: ['二〇二四年春季学期期末考试成绩查询'],
  },
  {
    name: 'strip-two',
    width: 1240,
    height: 58,
    css: "background:#fff;font-family:'WenQuanYi Zen Hei';color:#333;padding:4px 8px;font-size:18px;line-height:25px",
    html:
      line('三、报名时间：即日起至十月三十一日止，逾期不再受理。报名者须提交身份证复印件两份及近期免冠照片一张。') +
      line('四、联系方式：电话 0571-88886666，邮箱 service@example.org，地址为市民中心二号楼三层服务大厅。'),
    lines: [
      '三、报名时间：即日起至十月三十一日止，逾期不再受理。报名者须提交身份证复印件两份及近期免冠照片一张。',
      '四、联系方式：电话 0571-88886666，邮箱 service@example.org，地址为市民中心二号楼三层服务大厅。',
    ],
  },
  {
    name: 'dense-label',
    width: 300,
    height: 460,
    css: "background:#fff;font-family:'WenQuanYi Micro Hei Mono';color:#111;padding:10px 12px;font-size:12px;line-height:21px",
    html: [
      line('便利蜂 朝阳门店', 'font-size:18px;font-weight:bold;line-height:28px'),
      line('地址：朝阳门内大街88号'),
      line('电话：010-65551234'),
      line('单号：20240618-0931-027'),
      line('收银员：王丽'),
      line('商品 数量 金额', 'font-weight:bold'),
      line('矿泉水550ml 2 4.00'),
      line('全麦面包 1 8.50'),
      line('鲜牛奶1L 1 13.90'),
      line('香蕉 0.82kg 5.66'),
      line('酸奶 3 12.00'),
      line('合计 44.06'),
      line('会员优惠 -2.00'),
      line('实付 42.06'),
      line('支付方式：微信支付'),
      line('2024-06-18 09:31:27'),
      line('谢谢惠顾 欢迎再次光临'),
      line('Thank you for shopping'),
    ].join(''),
    lines: [
      '便利蜂 朝阳门店',
      '地址：朝阳门内大街88号',
      '电话：010-65551234',
      '单号：20240618-0931-027',
      '收银员：王丽',
      '商品 数量 金额',
      '矿泉水550ml 2 4.00',
      '全麦面包 1 8.50',
      '鲜牛奶1L 1 13.90',
      '香蕉 0.82kg 5.66',
      '酸奶 3 12.00',
      '合计 44.06',
      '会员优惠 -2.00',
      '实付 42.06',
      '支付方式：微信支付',
      '2024-06-18 09:31:27',
      '谢谢惠顾 欢迎再次光临',
      'Thank you for shopping',
    ],
  },
  {
    name: 'transparent-white',
    width: 300,
    height: 96,
    transparent: true,
    css: "font-family:'WenQuanYi Zen Hei';color:#fff;padding:12px 16px;font-size:30px;line-height:38px",
    html: line('保存到相册') + line('Save to album', 'font-size:24px'),
    lines: ['保存到相册', 'Save to album'],
  },
  {
    name: 'vertical',
    width: 760,
    height: 1900,
    css: "background:#fff;font-family:'WenQuanYi Micro Hei';color:#202020;font-size:96px;line-height:170px;padding:110px 40px",
    html: columns(
      ['君不见黄河之水天上来', '奔流到海不复回', '君不见高堂明镜悲白发', '朝如青丝暮成雪'],
      'height:1500px',
    ),
    lines: ['君不见黄河之水天上来', '奔流到海不复回', '君不见高堂明镜悲白发', '朝如青丝暮成雪'],
  },
  {
    name: 'vertical-spaced',
    width: 700,
    height: 1600,
    css: "background:#f3efe6;font-family:'AR PL UMing CN';color:#3a2a1a;font-size:76px;line-height:230px;letter-spacing:52px;padding:80px 20px",
    html: columns(['天生我材必有用', '千金散尽还复来', '烹羊宰牛且为乐'], 'height:1400px'),
    lines: ['天生我材必有用', '千金散尽还复来', '烹羊宰牛且为乐'],
  },
];

async function main(): Promise<void> {
  const debs = process.argv[2];
  if (!debs) throw new Error('usage: render-real-photos <folder with opencv-doc and python3-skimage extracted>');
  const fixtures = join(__dirname, '..', '..', '..', 'test', 'fixtures');
  const browser = await launchBrowser();
  try {
    for (const [set, shots] of [
      ['tuning', TUNING],
      ['heldout', HELDOUT],
    ] as const) {
      const dir = join(fixtures, `ocr-real-${set}`);
      mkdirSync(dir, { recursive: true });
      const truth: Record<string, string[]> = {};
      for (const shot of shots) {
        const page = await browser.newPage({ viewport: { width: shot.width, height: shot.height } });
        await page.setContent(
          `<!doctype html><html><head><meta charset="utf-8"><style>html,body{margin:0}body{${shot.css};` +
            `width:${shot.width}px;height:${shot.height}px;box-sizing:border-box;overflow:hidden}</style></head>` +
            `<body>${shot.html}</body></html>`,
        );
        await page.evaluate('document.fonts.ready');
        await page.screenshot({ path: join(dir, `${shot.name}.png`), omitBackground: shot.transparent ?? false });
        await page.close();
        truth[shot.name] = shot.lines;
      }
      for (const [s, file, source, lines] of DEBIAN_SOURCES) {
        if (s !== set) continue;
        copyFileSync(join(debs, source), join(dir, file));
        truth[file.replace(/\.png$/, '')] = lines;
      }
      writeFileSync(join(dir, 'truth.json'), JSON.stringify(truth, null, 2) + '\n');
    }
  } finally {
    await browser.close();
  }
}

if (require.main === module) {
  main().catch((error) => {
    process.stderr.write(String(error?.stack ?? error) + '\n');
    process.exit(1);
  });
}
