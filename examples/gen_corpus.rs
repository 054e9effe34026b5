//! Synthetic article corpus for the storage benchmarks (`bench/store-bench`).
//!
//! ```text
//! cargo run --release --example gen_corpus -- --count 100000 [--seed 1] [--out corpus.jsonl]
//!     [--config config/sihai.toml]
//! ```
//!
//! Writes `--count` articles as JSON Lines in sihai's article JSON format (what
//! `sihai import` reads), streaming: memory stays flat from 1k to 1M articles.
//!
//! - `category` is a slug, name or alias of a category of the config, uniformly over the
//!   whole tree (roots, inner nodes and leaves).
//! - `published` is `YYYY-MM-DD HH:MM:SS` site time, uniform from 2019-01-01 to 2026-11-01
//!   (or now, if that is earlier): never in the future.
//! - About half have a `url`; about 40% a `summary`; half give `content_text`, half
//!   `content_html`, each 500-900 characters (~2 KB of UTF-8) of Chinese.
//! - The text never repeats: characters are drawn from a seeded PRNG over 3,755 common
//!   characters (GB 2312 level 1) with a Zipf-like weighting by frequency rank (the top
//!   1,000 cover about 87% of the text, as in real Chinese), cut into clauses, sentences
//!   and paragraphs of random lengths with Chinese punctuation and the odd number.
//!
//! Output is a pure function of `--seed`, `--count` and the config.

use std::io::{BufWriter, Write};
use std::path::PathBuf;

use chrono::{FixedOffset, TimeZone, Utc};
use serde::Serialize;

/// About 1,200 of the most frequent characters of modern Chinese, most frequent first.
const FREQUENT: &str = "\
    的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里用道行所然家种事成方\
    多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日军者意无力它与长把机十民第公此已工使情\
    明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相见被利什二等产或新己制身果加西斯月话合回特代内信表化老给\
    世位次度门任常先海通教儿原东声提立及比员解水名真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太\
    量再感建务做接必场件计管期市直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象\
    完设式色路记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联持组每济\
    车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百需价花党华城石级整府离况亚\
    请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎查轻易早曾除农找装广显吧阿李标谈吃图念六引历\
    首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音\
    跟志底站严巴例防族供效续施留讲型料终答紧黄绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值\
    仍男钱破网热助倒育属坐帝限船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微尼继送急血惊伤\
    素药适波夜省初喜卫源食险待述陆习置居劳财环排福纳欢雷警获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村哈策演简卡罪判担\
    州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读啊超免压银买皇养伊怀执副乱抗犯追帮宣佛岁航优怪香著田铁控\
    税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付伯慢欧换闻危忙核暗姐介坏讨丽良序升监临亮\
    露永呼味野架域沙掉括舰鱼杂误湾吉减编楚肯测败屋跑梦散温困剑渐封救贵枪缺楼县尚毫移娘朋画班智亦耳恩短掌恐遗固席松秘谢鲁遇康\
    虑幸均销钟诗藏赶剧票损忽巨炮旧端探湖录叶春乡附吸予礼港雨呀板庭妇归睛饭含顺输摇招婚脱补谓督毒油疗旅泽材灭逐莫笔亡鲜词圣择\
    寻厂睡博勒烟授诺伦岸奥唐卖俄炸载洛健堂旁宫喝借君禁阴园谋宋避抓荣姑孙逃牙束跳顶玉镇雪午练迫爷篇肉嘴馆遍凡础洞卷坦牛宁纸诸\
    训私庄祖丝翻暴森塔默握戏隐熟骨访弱蒙歌店鬼软典欲萨伙遭盘爸扩盖弄雄稳忘亿刺拥徒姆杨齐赛趣曲刀床迎冰虚玩析窗醒妻透购替塞努\
    休虎扬途侵刑绿兄迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟麻川申缓潜闪售灯针哲络抵朱埃抱鼓植纯夏忍页杰筑折郑贝尊吴秀混臣雅振染\
    盛怒舞圆搞狂措姓残秋培迷诚宽宇猛摆梅毁伸摩盟末乃悲拍丁赵尖尾浪拒佳";

/// The rest of GB 2312 level 1 (the 3,755 common characters, in pinyin order), without
/// those in [`FREQUENT`].
const LEVEL1_REST: &str = "\
    挨哎唉哀皑癌蔼矮艾碍隘鞍氨俺胺肮昂盎凹敖熬翱袄傲懊澳芭捌扒叭笆疤拔跋靶耙坝霸罢柏佰拜稗斑搬扳颁扮拌伴瓣绊邦梆榜膀绑棒磅蚌\
    镑傍谤苞胞褒剥薄雹堡饱豹鲍爆杯碑卑辈钡倍狈惫焙奔苯笨崩绷甭泵蹦迸逼鼻鄙彼碧蓖蔽毙毖币庇痹闭敝弊辟壁臂陛鞭贬扁卞辨辩辫彪膘\
    鳖憋瘪彬斌濒滨宾摈柄丙秉饼炳玻菠播拨钵勃搏铂箔帛舶脖膊渤泊驳捕卜哺埠簿怖擦猜裁睬踩彩菜蔡餐蚕惭惨灿苍舱仓沧操糙槽曹厕侧册\
    蹭插叉茬茶碴搽岔诧拆柴豺搀掺蝉馋谗缠铲阐颤昌猖尝偿肠敞畅唱倡抄钞嘲潮巢吵炒扯撤掣彻澈郴辰尘晨忱趁衬撑橙呈乘惩澄逞骋秤痴匙\
    池迟弛驰耻齿侈尺赤翅斥炽虫崇宠抽酬畴踌稠愁筹仇绸瞅丑臭橱厨躇锄雏滁储矗搐触揣椽喘串疮幢闯吹炊捶锤垂椿醇唇淳蠢戳绰疵茨磁雌\
    辞慈瓷赐聪葱囱匆丛凑粗醋簇蹿篡窜摧崔催脆瘁粹淬翠寸磋撮搓挫搭瘩呆歹傣戴殆贷袋逮怠耽丹郸掸胆旦氮惮淡诞蛋挡荡档捣蹈祷稻悼盗\
    蹬瞪凳邓堤滴迪笛狄涤翟嫡蒂递缔颠掂滇碘靛垫佃甸惦奠淀殿碉叼雕凋刁吊钓跌爹碟蝶迭谍叠盯叮钉鼎锭订丢冬董懂栋侗恫冻兜抖陡豆逗\
    痘犊堵睹赌杜镀肚渡妒锻缎堆兑墩吨蹲敦囤钝盾遁掇哆夺垛躲朵跺舵剁惰堕蛾峨鹅额讹娥厄扼遏鄂饿饵洱贰罚筏伐乏阀珐藩帆番樊矾钒繁\
    烦返贩泛坊芳肪妨仿纺菲啡肥匪诽吠肺废沸芬酚吩氛纷坟焚汾粉奋忿愤粪丰枫蜂峰锋疯烽逢冯缝讽奉凤敷肤孵扶拂辐幅氟符伏俘浮涪袱弗\
    甫抚辅俯釜斧脯腑腐赴覆赋傅阜腹讣缚咐噶嘎钙溉甘杆柑竿肝秆赣冈钢缸肛纲岗杠篙皋膏羔糕镐稿搁戈鸽胳疙割葛蛤阁隔铬耕庚羹埂耿梗\
    恭龚躬弓巩汞拱贡钩勾沟苟狗垢辜菇咕箍估沽孤蛊雇刮瓜剐寡挂褂乖拐棺冠罐惯灌贯逛瑰圭硅龟闺轨诡癸桂柜跪刽辊滚棍锅郭裹骸氦亥骇\
    酣憨邯韩涵寒函喊罕翰撼捍旱憾悍焊汗夯杭壕嚎豪郝耗浩呵荷菏禾盒貉阂涸赫褐鹤贺嘿痕狠恨哼亨横衡恒轰哄烘虹鸿洪宏弘喉侯猴吼厚瑚\
    壶葫蝴狐糊弧唬沪哗猾滑槐徊淮桓患唤痪豢焕涣宦幻荒慌磺蝗簧凰惶煌晃幌恍谎灰辉徽恢蛔悔慧卉惠晦贿秽烩汇讳诲绘荤昏魂浑豁惑霍祸\
    圾畸稽箕肌饥讥鸡姬绩缉棘辑籍疾汲嫉挤脊蓟冀季伎祭剂悸寄寂忌妓嘉枷夹荚颊贾钾稼驾嫁歼笺煎兼肩艰奸缄茧柬碱硷拣捡俭剪荐槛鉴践\
    贱键箭饯溅涧僵姜浆疆蒋桨奖匠酱蕉椒礁焦胶郊浇骄娇嚼搅铰矫侥狡饺缴绞剿酵轿窖揭皆秸截劫桔捷睫竭洁戒藉芥疥诫届巾筋斤津襟锦谨\
    靳晋烬浸劲荆兢茎晶鲸粳井颈敬镜径痉靖净炯窘揪纠玖韭灸厩臼舅咎疚鞠拘狙疽驹菊咀矩沮聚距踞锯俱惧炬捐鹃娟倦眷绢撅攫抉掘倔爵诀\
    菌钧峻俊竣浚郡骏喀咖咯揩楷凯慨刊堪勘坎砍慷糠扛亢炕拷烤坷苛柯棵磕颗壳咳渴课啃垦恳坑吭孔抠扣寇枯哭窟酷裤夸垮挎跨胯筷侩匡筐\
    框矿眶旷亏盔岿窥葵奎魁傀馈愧溃坤昆捆廓阔垃喇蜡腊辣啦莱赖蓝婪栏拦篮阑澜谰揽览懒缆烂滥琅榔狼廊郎朗捞牢佬姥酪烙涝镭蕾磊累儡\
    垒擂肋泪棱楞厘梨犁黎篱狸漓鲤莉荔吏栗厉励砾傈俐痢粒沥隶璃哩俩莲镰廉怜涟帘敛链恋炼粮凉梁粱辆晾谅撩聊僚燎寥辽潦撂镣廖裂劣猎\
    琳磷霖邻鳞淋凛赁吝拎玲菱零龄铃伶羚凌陵岭溜琉榴硫馏瘤柳聋咙笼窿隆垄拢陇娄搂篓漏陋芦卢颅庐炉掳卤虏麓碌赂鹿潞禄戮驴吕铝侣履\
    屡缕氯滤峦挛孪滦卵掠抡仑沦纶萝螺逻锣箩骡裸骆玛码蚂骂嘛埋麦迈脉瞒馒蛮蔓曼漫谩芒茫盲氓莽猫茅锚矛铆卯茂冒帽貌玫枚酶霉煤眉媒\
    镁昧寐妹媚闷萌檬锰孟眯醚靡糜谜弥觅泌蜜幂棉眠绵冕勉娩缅苗描瞄藐秒渺庙妙蔑抿皿敏悯闽螟鸣铭谬摸摹蘑膜磨魔抹墨沫漠寞陌牟拇牡\
    亩墓暮幕募慕睦牧穆呐钠娜氖奶耐奈囊挠恼闹淖馁嫩妮霓倪泥拟匿腻逆溺蔫拈碾撵捻酿鸟尿捏聂孽啮镊镍涅柠狞凝拧泞扭钮纽脓浓奴暖虐\
    疟挪懦糯哦鸥殴藕呕偶沤啪趴爬帕琶牌徘湃攀潘磐盼畔叛乓庞耪胖抛咆刨袍泡呸胚裴赔陪佩沛喷盆砰抨烹澎彭蓬棚硼篷膨鹏捧碰坯砒霹披\
    劈琵毗啤脾疲匹痞僻屁譬偏骗飘漂瓢撇瞥拼频贫聘乒坪苹萍凭瓶屏坡泼颇婆魄粕剖扑铺仆莆葡菩蒲埔朴圃浦谱曝瀑欺栖戚凄漆柒沏棋歧畦\
    崎脐旗祈祁骑岂乞启契砌迄汽泣讫掐恰洽牵扦钎铅迁签仟谦乾黔钳遣浅谴堑嵌欠歉呛腔羌墙蔷抢橇锹敲悄桥瞧乔侨巧鞘撬翘峭俏窍茄怯窃\
    钦秦琴勤芹擒禽寝沁氢倾卿擎晴氰顷庆琼穷丘邱囚酋泅趋蛆躯屈驱渠娶龋圈颧醛泉痊拳犬券劝炔瘸鹊榷雀裙燃冉瓤壤攘嚷饶扰绕惹壬仁韧\
    刃妊纫扔戎茸蓉融熔溶绒冗揉柔茹蠕儒孺辱乳汝褥阮蕊瑞锐闰润撒洒腮鳃叁伞桑嗓丧搔骚扫嫂瑟涩僧莎砂刹纱傻啥煞筛晒珊苫杉删煽衫陕\
    擅赡膳汕扇缮墒赏晌裳梢捎稍烧芍勺韶哨邵绍奢赊蛇舌舍赦摄慑涉砷呻娠绅沈婶肾慎渗甥牲绳剩狮湿尸虱拾蚀矢屎驶柿拭誓逝嗜噬仕侍饰\
    氏恃寿瘦兽蔬枢梳殊抒叔舒淑疏赎孰薯暑曙署蜀黍鼠戍竖墅庶漱恕刷耍摔衰甩帅栓拴霜爽吮瞬舜硕朔烁撕嘶肆寺嗣伺饲巳耸怂颂讼诵搜艘\
    擞嗽酥俗粟僳塑溯宿肃酸蒜隋绥髓碎穗遂隧祟笋蓑梭唆缩琐锁塌獭挞蹋踏胎苔抬泰酞汰坍摊贪瘫滩坛檀痰潭谭毯袒碳叹炭汤塘搪棠膛糖倘\
    躺淌趟烫掏涛滔绦萄桃淘陶藤腾疼誊梯剔踢锑蹄啼嚏惕涕剃屉添填甜恬舔腆挑迢眺贴帖厅烃汀廷亭挺艇桐酮瞳铜彤童桶捅筒偷凸秃涂屠吐\
    兔湍颓腿蜕褪吞屯臀拖鸵陀驮驼椭妥拓唾挖哇蛙洼娃瓦袜歪豌弯顽丸烷碗挽皖惋宛婉腕汪枉旺妄巍韦违桅惟潍苇萎伪纬蔚畏胃喂魏渭尉慰\
    瘟蚊纹吻紊嗡翁瓮挝蜗涡窝斡卧沃巫呜钨乌污诬芜梧吾毋捂伍侮坞戊雾晤勿悟昔熙硒矽晰嘻锡牺稀悉膝夕惜熄烯溪汐犀檄袭媳铣洗隙瞎虾\
    匣霞辖暇峡侠狭厦吓掀锨仙纤咸贤衔舷闲涎弦嫌献腺馅羡宪陷厢镶箱襄湘翔祥详享巷橡萧硝霄削哮嚣宵淆晓孝肖啸楔歇蝎鞋挟携邪斜胁谐\
    械卸蟹懈泄泻屑薪芯锌欣辛忻衅腥猩惺邢杏凶胸匈汹熊羞朽嗅锈袖绣墟戌嘘徐蓄酗叙旭畜恤絮婿绪轩喧悬旋玄癣眩绚靴薛穴勋熏循旬询驯\
    巡殉汛讯逊押鸦鸭丫芽蚜崖衙涯哑讶焉咽阉淹盐蜒岩颜阎炎沿奄掩衍艳堰燕厌砚雁唁彦焰宴谚殃鸯秧佯疡羊氧仰痒漾邀腰妖瑶尧遥窑谣姚\
    咬舀耀椰噎耶冶掖曳腋液壹揖铱颐夷仪胰沂宜姨彝椅蚁倚乙矣抑邑屹役臆逸肄疫裔毅忆溢诣谊译翼翌绎茵荫殷姻吟淫寅饮尹樱婴鹰缨莹萤\
    荧蝇赢盈颖硬映哟佣臃痈庸雍踊蛹咏泳涌恿勇幽悠忧邮铀犹酉佑釉诱幼迂淤盂榆虞愚舆俞逾愉渝渔隅娱屿禹羽芋郁吁喻峪御愈狱誉浴寓裕\
    豫驭鸳渊冤垣袁援辕猿缘苑怨曰跃钥岳粤悦阅耘郧匀陨允蕴酝晕韵孕匝砸栽哉灾宰咱攒暂赞赃脏葬糟凿藻枣澡蚤躁噪皂灶燥贼憎赠扎喳渣\
    札轧铡闸眨栅榨咋乍诈摘斋宅窄债寨瞻毡詹粘沾盏斩辗崭蘸栈湛绽樟彰漳涨杖丈帐账仗胀瘴障昭沼罩兆肇召遮蛰辙锗蔗浙珍斟甄砧臻贞侦\
    枕疹诊蒸挣睁狰怔拯帧症芝枝吱蜘肢脂汁殖侄址趾旨挚掷帜峙秩稚炙痔滞窒盅忠衷肿仲舟诌粥轴肘帚咒皱宙昼骤珠株蛛猪诛竹烛煮拄瞩嘱\
    柱蛀贮铸祝驻爪拽砖撰赚篆桩妆撞壮椎锥赘坠缀谆捉拙卓桌琢茁酌啄灼浊兹咨姿滋淄孜紫仔籽滓渍鬃棕踪综纵邹奏揍租卒诅阻钻纂醉遵昨\
    佐柞";

/// Common Chinese surnames, for bylines.
const SURNAMES: &str = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤";
/// Bylines that are agencies rather than people.
const AGENCIES: &[&str] = &["新华社", "中新社", "本报综合", "央视新闻", "人民网", "四海资讯"];

/// SplitMix64: tiny, fast, good enough for synthetic text, and stable across platforms.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((self.next_u64() as u128 * (hi - lo + 1) as u128) >> 64) as u64
    }

    /// True with probability `percent`%.
    fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

/// The character pool with a Zipf-like cumulative weight table.
struct Chars {
    pool: Vec<char>,
    /// `cumulative[i]` = sum of weights of ranks `0..=i`, scaled to `u64`.
    cumulative: Vec<u64>,
}

impl Chars {
    fn new() -> Chars {
        let mut pool: Vec<char> = Vec::new();
        for c in FREQUENT.chars().chain(LEVEL1_REST.chars()) {
            if !pool.contains(&c) {
                pool.push(c);
            }
        }
        // weight(rank) = 1 / (rank + 15)^1.2: top 100 ~ 50%, top 1000 ~ 87%, top 2500 ~ 96%.
        let weights: Vec<f64> = (0..pool.len()).map(|r| 1.0 / ((r + 15) as f64).powf(1.2)).collect();
        let total: f64 = weights.iter().sum();
        let mut acc = 0.0;
        let cumulative = weights
            .iter()
            .map(|w| {
                acc += w / total;
                (acc * u64::MAX as f64) as u64
            })
            .collect();
        Chars { pool, cumulative }
    }

    fn one(&self, rng: &mut Rng) -> char {
        let x = rng.next_u64();
        let i = self.cumulative.partition_point(|&c| c < x);
        self.pool[i.min(self.pool.len() - 1)]
    }

    /// `n` characters, no punctuation.
    fn run(&self, rng: &mut Rng, n: u64, out: &mut String) {
        for _ in 0..n {
            out.push(self.one(rng));
        }
    }

    /// One clause: 3-16 characters, sometimes a number or a quoted phrase inside.
    fn clause(&self, rng: &mut Rng, out: &mut String) {
        let n = rng.range(3, 16);
        self.run(rng, n / 2, out);
        match rng.range(0, 19) {
            0 => {
                out.push_str(&rng.range(2, 2026).to_string());
                out.push(*rng.pick(&['年', '个', '万', '家', '项', '名']));
            }
            1 => {
                out.push_str(&format!("{}.{}%", rng.range(0, 99), rng.range(0, 9)));
            }
            2 => {
                out.push('“');
                let k = rng.range(2, 6);
                self.run(rng, k, out);
                out.push('”');
            }
            _ => {}
        }
        self.run(rng, n - n / 2, out);
    }

    /// One sentence: 1-5 clauses and its end mark.
    fn sentence(&self, rng: &mut Rng, out: &mut String) {
        let clauses = rng.range(1, 5);
        for i in 0..clauses {
            if i > 0 {
                out.push(match rng.range(0, 9) {
                    0 => '；',
                    1 => '、',
                    2 => '：',
                    _ => '，',
                });
            }
            self.clause(rng, out);
        }
        out.push(match rng.range(0, 19) {
            0 => '！',
            1 => '？',
            _ => '。',
        });
    }

    /// Paragraphs of 1-6 sentences until about `chars` characters are written.
    fn paragraphs(&self, rng: &mut Rng, chars: usize) -> Vec<String> {
        let mut paras = Vec::new();
        let mut written = 0;
        while written < chars {
            let mut p = String::new();
            for _ in 0..rng.range(1, 6) {
                self.sentence(rng, &mut p);
            }
            written += p.chars().count();
            paras.push(p);
        }
        paras
    }
}

/// One article in sihai's input JSON format (optional fields left out when absent).
#[derive(Serialize)]
struct ArticleJson<'a> {
    id: String,
    title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    category: &'a str,
    published: String,
    author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_html: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

struct Args {
    count: u64,
    seed: u64,
    out: Option<PathBuf>,
    config: PathBuf,
}

fn usage() -> ! {
    eprintln!("usage: gen_corpus --count N [--seed S] [--out FILE] [--config config/sihai.toml]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args { count: 0, seed: 1, out: None, config: PathBuf::from("config/sihai.toml") };
    let mut it = std::env::args().skip(1);
    let mut have_count = false;
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--count" => {
                args.count = value.replace('_', "").parse().unwrap_or_else(|_| usage());
                have_count = true;
            }
            "--seed" => args.seed = value.parse().unwrap_or_else(|_| usage()),
            "--out" => args.out = Some(PathBuf::from(value)),
            "--config" => args.config = PathBuf::from(value),
            _ => usage(),
        }
    }
    if !have_count {
        usage();
    }
    args
}

fn main() -> std::io::Result<()> {
    let args = parse_args();
    let config = sihai::config::Config::load(&args.config).unwrap_or_else(|e| {
        eprintln!("gen_corpus: {}: {e}", args.config.display());
        std::process::exit(2)
    });
    // Every way an article may name each category: slug, display name, aliases.
    let references: Vec<(String, Vec<String>)> = config
        .categories
        .list
        .iter()
        .map(|c| {
            let mut names = vec![c.slug.clone(), c.name.clone()];
            names.extend(c.aliases.iter().cloned());
            (c.slug.clone(), names)
        })
        .collect();

    // Site time is Asia/Shanghai in the shipped config: UTC+8 all year since 1991.
    let site = FixedOffset::east_opt(8 * 3600).expect("valid offset");
    let from = site.with_ymd_and_hms(2019, 1, 1, 0, 0, 0).unwrap().timestamp();
    let until = site.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap().timestamp().min(Utc::now().timestamp() - 60);

    let chars = Chars::new();
    let surnames: Vec<char> = SURNAMES.chars().collect();
    let mut rng = Rng(args.seed ^ 0x5EED_5EED_5EED_5EED);
    let sink: Box<dyn Write> = match &args.out {
        Some(p) => Box::new(std::fs::File::create(p)?),
        None => Box::new(std::io::stdout().lock()),
    };
    let mut out = BufWriter::with_capacity(1 << 20, sink);
    for n in 0..args.count {
        let (slug, names) = rng.pick(&references);
        let category = rng.pick(names).as_str();
        let published = rng.range(from as u64, until as u64) as i64;
        let local = site.timestamp_opt(published, 0).unwrap();
        let id = format!("s{}-{n:07}", args.seed);

        let mut title = String::new();
        let k = rng.range(6, 14);
        chars.run(&mut rng, k, &mut title);
        if rng.chance(30) {
            title.push('：');
            let k = rng.range(4, 10);
            chars.run(&mut rng, k, &mut title);
        }

        let url =
            rng.chance(50).then(|| format!("https://news.sihai.example/{slug}/{}/{id}.html", local.format("%Y/%m%d")));

        let author = if rng.chance(15) {
            rng.pick(AGENCIES).to_string()
        } else {
            let mut a = rng.pick(&surnames).to_string();
            let k = rng.range(1, 2);
            chars.run(&mut rng, k, &mut a);
            a
        };

        let summary = rng.chance(40).then(|| {
            let mut s = String::new();
            for _ in 0..rng.range(1, 2) {
                chars.sentence(&mut rng, &mut s);
            }
            s
        });

        let body_chars = rng.range(500, 900) as usize;
        let paras = chars.paragraphs(&mut rng, body_chars);
        let (content_text, content_html) = if rng.chance(50) {
            (Some(paras.join("\n\n")), None)
        } else {
            let mut html = String::new();
            for (i, p) in paras.iter().enumerate() {
                html.push_str("<p>");
                if i == 0 && rng.chance(30) {
                    html.push_str("<strong>");
                    html.push_str(&title);
                    html.push_str("</strong> ");
                }
                html.push_str(p);
                if rng.chance(10) {
                    html.push_str(&format!(" <a href=\"/{slug}/related-{}.html\">相关报道</a>", rng.range(1, 99_999)));
                }
                html.push_str("</p>");
            }
            (None, Some(html))
        };

        let tags = (0..rng.range(0, 4))
            .map(|_| {
                let mut t = String::new();
                let k = rng.range(2, 4);
                chars.run(&mut rng, k, &mut t);
                t
            })
            .collect();

        let article = ArticleJson {
            id,
            title,
            url,
            category,
            published: local.format("%Y-%m-%d %H:%M:%S").to_string(),
            author,
            summary,
            content_text,
            content_html,
            tags,
        };
        serde_json::to_writer(&mut out, &article)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
