/**
 * Word lists for the synthetic OCR documents of the search benchmark: what phone photos of receipts,
 * invoices, signs, menus, parcels, cars and notes read in a Chinese + English library.
 */

/** Words separated by white space; `_` stands for a space inside an entry ("Green_Tea"). */
function words(text: string): string[] {
  return text
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(/_/g, ' '));
}

/** Chinese=English pairs separated by white space ("出口=Exit"). */
function pairs(text: string): [string, string][] {
  return words(text).map((pair) => pair.split('=') as [string, string]);
}

export const CITIES = words(`
  北京 上海 广州 深圳 杭州 南京 成都 武汉 西安 重庆 天津 苏州 长沙 郑州 青岛 厦门 宁波 大连 沈阳 昆明 合肥 福州
  济南 无锡 东莞 佛山 哈尔滨 南昌
`);

export const STREETS = words(`
  人民路 中山路 解放路 建设路 长江路 黄河路 南京路 北京路 和平路 新华路 文化路 学府路 科技路 滨江大道 世纪大道
  朝阳路 光明街 幸福街 东风路 胜利路 淮海路 延安路
`);

export const DISTRICTS = words(`
  朝阳区 海淀区 浦东新区 徐汇区 天河区 南山区 西湖区 鼓楼区 武侯区 江汉区
`);

export const STORE_BRANDS = words(`
  华联 永辉 物美 联华 家乐福 沃尔玛 大润发 盒马 全家 罗森 美宜佳 便利蜂 好又多 苏果 世纪联华 天虹 万家 红旗
`);

export const STORE_TYPES = words(`
  超市 便利店 生鲜超市 购物中心 百货 药店 水果店 面包店 书店
`);

export const GROCERIES = words(`
  苹果 香蕉 橙子 葡萄 西瓜 草莓 牛奶 酸奶 鸡蛋 面包 大米 面粉 食用油 酱油 白糖 食盐 矿泉水 可乐 雪碧 啤酒 饼干
  薯片 巧克力 方便面 火腿肠 猪肉 牛肉 鸡胸肉 三文鱼 大白菜 西红柿 土豆 黄瓜 胡萝卜 洗发水 牙膏 纸巾 洗衣液
  垃圾袋
`);

export const DISHES = words(`
  宫保鸡丁 鱼香肉丝 麻婆豆腐 红烧肉 糖醋排骨 回锅肉 水煮鱼 酸菜鱼 小炒肉 西红柿炒鸡蛋 酸辣土豆丝 北京烤鸭
  清蒸鲈鱼 干锅花菜 地三鲜 京酱肉丝 蒜蓉西兰花 可乐鸡翅 东坡肉 担担面 牛肉面 炸酱面 扬州炒饭 蛋炒饭 小笼包 煎饺
  馄饨 酸辣汤 紫菜蛋花汤 凉拌黄瓜 口水鸡 夫妻肺片 毛血旺 辣子鸡 干煸豆角 米饭 豆浆 油条 包子 饺子 火锅 烧烤
`);

export const RESTAURANT_WORDS = words(`
  餐厅 饭店 酒家 小馆 面馆 火锅店 茶餐厅 食堂 烧烤店 快餐
`);

export const RECEIPT_WORDS = words(`
  收银员 收银台 单价 数量 金额 小计 合计 应收 实收 找零 优惠 折扣 会员卡 积分 现金 微信支付 支付宝 银联 刷卡
  谢谢惠顾 欢迎再次光临 交易时间 流水号 门店 桌号 人数 服务员 服务费 餐位费 打包 退换货 凭小票
`);

export const PAYMENTS = words(`
  微信支付 支付宝 现金 银联 信用卡 会员卡
`);

export const INVOICE_WORDS = words(`
  增值税 普通发票 专用发票 电子发票 发票代码 发票号码 开票日期 校验码 机器编号 购买方 销售方 名称 纳税人识别号
  地址 电话 开户行 账号 货物 应税劳务 服务名称 规格型号 单位 税率 税额 价税合计 大写 小写 收款人 复核 开票人
  密码区 备注
`);

export const COMPANY_PARTS = words(`
  星辰 华夏 东方 远航 金石 瑞丰 恒通 明德 新源 中科 天成 博远 鼎盛 嘉禾 宏图 万达 长城 蓝海 智联 创新
`);

export const COMPANY_TYPES = words(`
  科技有限公司 贸易有限公司 文化传媒有限公司 餐饮管理有限公司 信息技术有限公司 商贸有限公司 物流有限公司
`);

export const SIGN_PAIRS = pairs(`
  安全出口=EXIT 入口=Entrance 出口=Exit 禁止吸烟=No_Smoking 小心地滑=Caution_Wet_Floor 卫生间=Toilet
  停车场=Parking 电梯=Elevator 楼梯=Stairs 售票处=Ticket_Office 候车室=Waiting_Room 检票口=Ticket_Gate
  行李寄存=Left_Luggage 问询处=Information 地铁站=Metro_Station 公交站=Bus_Stop 火车站=Railway_Station
  机场=Airport 医院=Hospital 药店=Pharmacy 银行=Bank 图书馆=Library 博物馆=Museum 公园=Park 酒店=Hotel
  禁止通行=No_Entry 请勿触摸=Do_Not_Touch 营业中=Open 暂停营业=Closed 服务台=Service_Desk
  充电站=Charging_Station 咖啡=Coffee
`);

export const SIGN_WORDS = words(`
  欢迎光临 营业时间 周一至周日 节假日 正常营业 请排队 请勿停车 消防通道 保持安静 注意安全 施工中 绕行 前方 左转
  右转 直行 号线 站台 方向 换乘 首班车 末班车 限速
`);

export const EXPRESS_WORDS = words(`
  快递 运单号 订单号 订单编号 收件人 寄件人 收货地址 联系电话 签收 派送中 已发货 待收货 物流信息 包裹 重量 件数
  到付 寄付 保价 代收货款
`);

export const EXPRESS_BRANDS = words(`
  顺丰速运 中通快递 圆通速递 申通快递 韵达快递 京东物流 邮政快递 极兔速递
`);

export const SHOPS_ONLINE = words(`
  淘宝 天猫 京东 拼多多 美团 饿了么 抖音商城 唯品会
`);

export const SURNAMES = words(`
  张 王 李 赵 刘 陈 杨 黄 周 吴 徐 孙 马 朱 胡 郭 何 林
`);

export const GIVEN_NAMES = words(`
  伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 涛 明 超 秀英 建华 小红 志强
`);

export const CHAT_WORDS = words(`
  今天 明天 昨天 晚上 下午 上午 开会 吃饭 一起 记得 带上 文件 资料 已经 收到 谢谢 好的 没问题 辛苦了 周末 出发
  到达 时间 地点 会议室 报告 项目 进度 客户 合同 签字 确认 通知 安排 提醒 孩子 学校 作业 老师 家长会
`);

export const PROVINCES = words(`
  京 沪 粤 苏 浙 川 鄂 湘 鲁 豫 闽 皖 津 渝 陕 辽
`);

export const PLATE_LETTERS = 'ABCDEFGHJKLMNPQRSTUVWXYZ';

export const PARKING_WORDS = words(`
  车牌号 入场时间 出场时间 停车时长 停车费 临时车 月租车 一路顺风 欢迎光临
`);

export const EN_RECEIPT_ITEMS = words(`
  Latte Cappuccino Espresso Americano Mocha Green_Tea Croissant Muffin Bagel Sandwich Burger Fries Salad Pizza
  Pasta Soup Orange_Juice Water Cheesecake Brownie Cookie
`);

export const EN_STORES = words(`
  STARBUCKS_COFFEE COSTA_COFFEE SUBWAY MCDONALDS KFC BURGER_KING PIZZA_HUT 7-ELEVEN FAMILYMART WALMART TARGET
  WHOLE_FOODS TRADER_JOES IKEA UNIQLO MUJI
`);

export const EN_RECEIPT_WORDS = words(`
  Subtotal Total Tax Cash Change Card Visa Mastercard Amount Balance Tip Discount Receipt Invoice Order Table
  Guest Server Cashier Thank Welcome Member Points
`);

export const EN_NOTE_WORDS = words(`
  meeting notes agenda project deadline budget review schedule report design client contract launch release
  feedback planning roadmap milestone priority action items follow update status team sprint backlog testing
  deploy server database network password account login email phone address office floor room buy milk eggs
  bread coffee apples call mom dentist appointment flight hotel booking passport visa ticket gate boarding seat
  luggage taxi train platform museum gallery concert birthday party gift recipe dinner lunch breakfast weekend
  holiday beach mountain river lake garden library homework exam lecture chapter summary question answer idea
  draft final invoice receipt payment refund warranty manual model
`);

export const WEEKDAYS = words(`
  Monday Tuesday Wednesday Thursday Friday Saturday Sunday
`);

export const MONTHS = words(`
  January February March April May June July August September October November December
`);

/** Bilingual labels: product packaging, hotel cards, Wi-Fi notices, exhibition captions. */
export const MIXED_PAIRS = pairs(`
  密码=WiFi 无线网络=WLAN 酒店=Hotel 房间=Room 早餐=Breakfast 会议=Meeting 展览=Exhibition 登机牌=Boarding_Pass
  航班=Flight 座位=Seat 登机口=Gate 护照=Passport 可口可乐=Coca-Cola 星巴克=Starbucks 矿泉水=Water
  配料=Ingredients 净含量=Net_Weight 保质期=Best_Before 生产日期=Production_Date 产地=Made_in_China
  说明书=Manual 型号=Model 充电器=Charger 耳机=Headphones 手机=Phone 电脑=Laptop 门票=Ticket 入场=Admission
  学生=Student
`);

export const MENU_SECTIONS = words(`
  热菜 凉菜 主食 汤类 饮品 招牌菜 特色小吃 今日特价
`);

export const EN_STREETS = words(`
  Main_St Oak_Ave Park_Rd Market_St Broadway Elm_St High_St Church_Rd Station_Rd King_St Queen_St River_Rd
`);
