#!/usr/bin/env python3
"""Writes the labelled items of bulletin's classifier: train.jsonl (bundled
with the binary) and held-out.jsonl (never trained or tuned on).

Every item is written here, from patterns of the sources the EU-Japan
Centre's newsletters read (its own news and events, ministry releases,
JETRO and business wires, tender notices, university news) and of what
belongs in none of them (sport, entertainment, crime, weather, job adverts,
sponsored posts), in English and Japanese, with the newsletters an editor
would choose. No article is copied. The held-out file takes whole patterns
(marked HELD) as well as a share of the others, so its figures say how the
classifier does on wordings it never saw.

Run: python3 data/labelled/make.py (deterministic: a fixed seed).
"""
import json
import random

E, I, A, T, X = "eu-japan-news", "industry-policy", "about-japan", "tax-procurement", "tech-transfer"

COUNTRIES = [
    ("Germany", "German", "Berlin", "ドイツ"), ("France", "French", "Paris", "フランス"),
    ("Italy", "Italian", "Rome", "イタリア"), ("Spain", "Spanish", "Madrid", "スペイン"),
    ("the Netherlands", "Dutch", "The Hague", "オランダ"), ("Poland", "Polish", "Warsaw", "ポーランド"),
    ("Sweden", "Swedish", "Stockholm", "スウェーデン"), ("Finland", "Finnish", "Helsinki", "フィンランド"),
    ("Denmark", "Danish", "Copenhagen", "デンマーク"), ("Austria", "Austrian", "Vienna", "オーストリア"),
    ("Belgium", "Belgian", "Brussels", "ベルギー"), ("Ireland", "Irish", "Dublin", "アイルランド"),
    ("Portugal", "Portuguese", "Lisbon", "ポルトガル"), ("Czechia", "Czech", "Prague", "チェコ"),
    ("Greece", "Greek", "Athens", "ギリシャ"), ("Hungary", "Hungarian", "Budapest", "ハンガリー"),
    ("Lithuania", "Lithuanian", "Vilnius", "リトアニア"), ("Slovenia", "Slovenian", "Ljubljana", "スロベニア"),
    ("Romania", "Romanian", "Bucharest", "ルーマニア"), ("Estonia", "Estonian", "Tallinn", "エストニア"),
]
TOPICS = [
    ("hydrogen", "水素"), ("offshore wind", "洋上風力"), ("semiconductors", "半導体"),
    ("critical raw materials", "重要鉱物"), ("space", "宇宙"), ("cyber-security", "サイバーセキュリティ"),
    ("digital trade", "デジタル貿易"), ("healthcare", "医療"), ("agriculture", "農業"),
    ("batteries", "蓄電池"), ("quantum technology", "量子技術"), ("maritime transport", "海運"),
]
PRODUCTS = [
    ("cosmetics", "化粧品"), ("wine", "ワイン"), ("cheese", "チーズ"), ("medical devices", "医療機器"),
    ("furniture", "家具"), ("olive oil", "オリーブオイル"), ("organic food", "オーガニック食品"),
    ("machine tools", "工作機械"), ("fashion accessories", "ファッション雑貨"), ("craft beer", "クラフトビール"),
    ("pet food", "ペットフード"), ("industrial software", "産業用ソフトウェア"),
]
UNIVERSITIES = [
    ("Tohoku University", "東北大学"), ("Kyoto University", "京都大学"), ("Osaka University", "大阪大学"),
    ("the University of Tokyo", "東京大学"), ("Nagoya University", "名古屋大学"), ("Kyushu University", "九州大学"),
    ("Hokkaido University", "北海道大学"), ("Tokyo Institute of Science", "東京科学大学"), ("Keio University", "慶應義塾大学"),
    ("Waseda University", "早稲田大学"),
]
TECHS = [
    ("solid-state battery", "全固体電池"), ("perovskite solar cell", "ペロブスカイト太陽電池"),
    ("spintronics memory", "スピントロニクスメモリ"), ("iPS cell", "iPS細胞"), ("quantum sensor", "量子センサー"),
    ("soft robotics", "ソフトロボティクス"), ("biodegradable plastic", "生分解性プラスチック"),
    ("ammonia combustion", "アンモニア燃焼"), ("gene therapy", "遺伝子治療"), ("AI image diagnosis", "AI画像診断"),
]
EU_ORGS = ["Fraunhofer", "TNO", "CNRS", "VTT", "KU Leuven", "Politecnico di Milano", "TU Delft", "Max Planck", "imec", "Tecnalia"]
EQUIPMENT = [
    ("X-ray CT scanner", "X線CT装置"), ("mass spectrometer", "質量分析装置"), ("electron microscope", "電子顕微鏡"),
    ("supercomputer nodes", "スーパーコンピュータ計算ノード"), ("patrol vessels' radar", "巡視船用レーダー"),
    ("LED street lighting", "LED街路灯"), ("school tablet computers", "学習用タブレット端末"),
    ("ambulance vehicles", "救急車"), ("water treatment pumps", "浄水場ポンプ設備"), ("weather radar", "気象レーダー"),
    ("railway rolling stock parts", "鉄道車両部品"), ("cloud hosting services", "クラウドサービス"),
]
ENTITIES = [
    ("Japan Meteorological Agency", "気象庁"), ("Ministry of Defense", "防衛省"), ("Osaka Prefecture", "大阪府"),
    ("National Hospital Organization", "国立病院機構"), ("City of Yokohama", "横浜市"), ("Japan Coast Guard", "海上保安庁"),
    ("RIKEN", "理化学研究所"), ("East Nippon Expressway", "東日本高速道路"), ("Tokyo Metropolitan Government", "東京都"),
    ("National Institutes for Quantum Science and Technology", "量子科学技術研究開発機構"),
]
CARMAKERS = ["Toyota", "Honda", "Nissan", "Mazda", "Subaru", "Suzuki", "Mitsubishi Motors"]
TEAMS = ["Yomiuri Giants", "Hanshin Tigers", "Urawa Reds", "Kashima Antlers", "SoftBank Hawks", "Vissel Kobe"]
CELEBS = ["Aoi Tanaka", "Ren Kobayashi", "Mika Sato", "Daichi Ito", "Yui Nakamura"]
CITIES = [("Sapporo", "札幌"), ("Sendai", "仙台"), ("Nagoya", "名古屋"), ("Fukuoka", "福岡"), ("Kobe", "神戸"), ("Hiroshima", "広島")]

def r(xs):
    return random.choice(xs)

def n(a, b):
    return random.randint(a, b)

P = []  # (held, labels, kind, source, fn) ; fn returns (title, summary, extra)

def pattern(labels, kind="news", source="Japan Business Wire", held=False, count=10):
    def wrap(fn):
        P.append((held, labels, kind, source, fn, count))
        return fn
    return wrap

# ---- EU-Japan NEWS: member states and EU institutions with Japan
@pattern([E], source="Japan Business Wire", count=14)
def _():
    c, t = r(COUNTRIES), r(TOPICS)
    return (f"Japan and {c[0]} sign memorandum of cooperation on {t[0]}",
            f"The {c[1]} economy minister and Japan's trade minister signed a memorandum in Tokyo to deepen cooperation on {t[0]}, including joint projects between companies of both countries.", {})

@pattern([E], source="MOFA", count=12)
def _():
    c, t = r(COUNTRIES), r(TOPICS)
    return (f"{c[1]} Prime Minister visits Tokyo; leaders agree to strengthen {t[0]} partnership",
            f"During the visit the two leaders agreed a joint statement covering {t[0]}, economic security and people-to-people exchanges between Japan and {c[0]}.", {})

@pattern([E], source="Japan Business Wire", held=True, count=10)
def _():
    c, t = r(COUNTRIES), r(TOPICS)
    return (f"{c[2]} and Tokyo open talks on a {t[0]} roadmap",
            f"Officials from {c[0]} and Japan met to map out a shared roadmap for {t[0]}, with a business delegation expected next spring.", {})

@pattern([E], source="MOFA", count=12)
def _():
    c, t = r(COUNTRIES), r(TOPICS)
    return (f"日本と{c[3]}、{t[1]}分野で協力覚書に署名",
            f"{c[3]}の経済大臣が来日し、{t[1]}分野における協力覚書に署名した。両国企業の共同事業を後押しする。", {})

@pattern([E], source="MOFA", held=True, count=8)
def _():
    c, t = r(COUNTRIES), r(TOPICS)
    return (f"{c[3]}首相が来日、{t[1]}で連携強化へ",
            f"首脳会談では{t[1]}や経済安全保障での協力を確認し、共同声明を発表した。", {})

@pattern([E], source="EU Delegation to Japan", count=12)
def _():
    t = r(TOPICS)
    return (f"EU and Japan hold {n(2,9)}th high-level dialogue on {t[0]}",
            f"The European Commission and the Government of Japan reviewed progress under the EU-Japan Economic Partnership Agreement and agreed next steps on {t[0]}.", {})

@pattern([E], source="EU Delegation to Japan", count=8)
def _():
    t = r(TOPICS)
    return (f"日EU、{t[1]}に関するハイレベル対話を開催",
            f"欧州委員会と日本政府は、日EU経済連携協定の下での{t[1]}協力の進捗を確認した。", {})

@pattern([E], kind="event", source="EU-Japan Centre", count=10)
def _():
    t = r(TOPICS)
    return (f"EU-Japan {t[0].title()} Business Forum {n(2026,2027)}",
            f"A day of talks and matchmaking between European and Japanese companies active in {t[0]}, organised by the EU-Japan Centre.", {})

# ---- Industry and Policy
@pattern([I], source="Japan Business Wire", count=10)
def _():
    return (f"Cabinet approves ¥{n(8,20)} trillion supplementary budget to ease prices and raise wages",
            f"The package includes energy subsidies for households, support for small firms raising pay and ¥{n(1,4)} trillion for growth investment in chips and AI.", {})

@pattern([I], source="Japan Business Wire", held=True, count=8)
def _():
    return (f"Government adopts draft fiscal {n(2026,2028)} budget of ¥{n(110,125)} trillion",
            "Defence, social security and debt servicing drive spending to a record; the finance ministry expects tax revenue to reach a new high.", {})

@pattern([I], source="Japan Business Wire", count=10)
def _():
    return (f"Minimum wage to rise by a record {n(50,80)} yen to an average of {n(1100,1250)} yen an hour",
            "The central minimum wages council recommended the increase; prefectures will set their own rates from October, and small businesses ask for support.", {})

@pattern([I], source="Japan Business Wire", count=10)
def _():
    a, b = random.sample(CARMAKERS, 2)
    t = r(["next-generation batteries", "software-defined vehicles", "hydrogen engines", "autonomous trucks", "semiconductor design"])
    return (f"{a} and {b} form consortium to develop {t}",
            f"The two carmakers will pool engineers and share costs in {t}, with suppliers invited to join the group next year.", {})

@pattern([I], source="Japan Business Wire", count=10)
def _():
    a, t = r(CARMAKERS), r(TECHS)
    return (f"{a} to invest ¥{n(50,900)} billion in {t[0]} production",
            f"The company will build a new line for {t[0]} components and hire engineers; suppliers expect orders from other manufacturers.", {})

@pattern([I], source="Japan Business Wire", count=8)
def _():
    a, t = r(CARMAKERS), r(TECHS)
    return (f"{a}、{t[1]}の量産工場を建設へ",
            f"{a}は{t[1]}の量産に向けて新工場を建設し、部品メーカーとの連携を強める。", {})

@pattern([I], source="Japan Business Wire", held=True, count=8)
def _():
    a, b = random.sample(CARMAKERS, 2)
    return (f"{a}, {b} tie up on EV platforms to cut costs",
            "The automakers plan shared electric vehicle platforms and joint purchasing of batteries to compete with Chinese rivals.", {})

@pattern([I], source="Japan Business Wire", count=8)
def _():
    return (f"Japan's new Strategic Energy Plan targets {n(40,50)}% renewables by 2040",
            "The plan keeps nuclear power as a main source, expands offshore wind and sets a path for LNG imports during the transition.", {})

@pattern([I], source="METI News", count=10)
def _():
    t = r(["economic security", "the GX transition bonds", "data centres", "generative AI governance", "critical minerals stockpiles", "SME price pass-through"])
    return (f"METI publishes guidelines on {t}",
            f"The Ministry of Economy, Trade and Industry set out guidelines on {t} after consulting industry, with a review planned in two years.", {})

@pattern([I], source="Japan Business Wire", count=10)
def _():
    return (f"政府、{n(10,20)}兆円規模の補正予算案を閣議決定",
            "物価高対策と賃上げ支援を柱とし、半導体や人工知能への投資も盛り込んだ。", {})

@pattern([I], source="Japan Business Wire", count=8)
def _():
    return (f"最低賃金、全国平均{n(1100,1250)}円に 過去最大の引き上げ",
            "中央最低賃金審議会が目安を答申した。中小企業の負担軽減策が課題となる。", {})

@pattern([I], source="Japan Business Wire", held=True, count=8)
def _():
    a, b = random.sample(CARMAKERS, 2)
    return (f"{a}と{b}、次世代電池で共同出資会社を設立",
            "自動車大手2社が研究開発と生産で協業し、コスト削減を目指す。", {})

@pattern([I], source="METI News", count=8)
def _():
    t = r(["エネルギー基本計画", "経済安全保障推進法の運用方針", "GX推進戦略", "中小企業の価格転嫁対策", "データセンター整備方針"])
    return (f"経済産業省、{t}の改定案を公表",
            f"経産省は{t}の改定案を取りまとめ、意見募集を開始した。", {})

@pattern([I], source="Digital Agency of Japan", count=8)
def _():
    return (f"Digital Agency sets {n(2026,2028)} roadmap for local government cloud migration",
            "Municipalities will move their core systems to the government cloud; the agency will support costs for smaller towns.", {})

# ---- About Japan
@pattern([A], source="JETRO", count=10)
def _():
    p = r(PRODUCTS)
    return (f"Selling {p[0]} in Japan: what European SMEs need to know",
            f"A guide to labelling rules, import procedures and the role of trading houses for European exporters of {p[0]} to the Japanese market.", {})

@pattern([A], source="JETRO", count=10)
def _():
    p = r(PRODUCTS)
    return (f"Finding a distributor for {p[0]} in Japan",
            f"How European companies select and negotiate with a Japanese distributor of {p[0]}, with tips on exclusivity and trade fairs.", {})

@pattern([A], source="JETRO", held=True, count=8)
def _():
    p = r(PRODUCTS)
    return (f"Japanese consumers and {p[0]}: tastes, prices and channels",
            f"Japanese shoppers pay for quality; e-commerce and department stores remain key channels for imported {p[0]}.", {})

@pattern([A], source="Japan Business Wire", count=8)
def _():
    c = r(CITIES)
    return (f"Inbound tourism lifts spending in {c[0]} as visitors head beyond Tokyo",
            "Regional airports add routes and department stores report record duty-free sales to foreign visitors.", {})

@pattern([A], source="JETRO", count=8)
def _():
    p = r(PRODUCTS)
    return (f"欧州企業向け：日本での{p[1]}の販路開拓ガイド",
            f"日本市場で{p[1]}を販売する際の輸入手続き、表示規制、代理店選びのポイントを解説する。", {})

@pattern([E, A], source="EU-Japan Centre", count=10)
def _():
    return (f"Training programme in Japan for EU managers: applications open for {n(2026,2027)}",
            "The EU-Japan Centre's management training brings European executives to Japan for language, business culture and company visits.", {})

@pattern([E, A], kind="event", source="EU-Japan Centre", count=10)
def _():
    t = r(TOPICS)
    return (f"Business mission to Japan: {t[0]}",
            f"European companies in {t[0]} meet Japanese buyers and partners during a one-week mission with B2B meetings and site visits.", {})

@pattern([E, A], kind="event", source="EU-Japan Centre", held=True, count=6)
def _():
    c = r(CITIES)
    return (f"EU SME delegation to {c[0]}: meet regional buyers",
            "A programme for European small firms to meet distributors and local governments in the region, with one-to-one meetings.", {})

# ---- Tax and public procurement
@pattern([T], kind="tender", source="JTPP Helpdesk", count=14)
def _():
    e, q = r(ENTITIES), r(EQUIPMENT)
    return (f"Supply of {q[0]}", f"{e[0]} invites bids for the supply and installation of {q[0]}. General competitive tendering under the WTO GPA.", {"entity": e[0]})

@pattern([T], kind="tender", source="Japan Tender Watch", count=12)
def _():
    e, q = r(ENTITIES), r(EQUIPMENT)
    return (f"{q[1]}の調達（一般競争入札）", f"{e[1]}は{q[1]}の購入について一般競争入札を実施する。入札説明書は電子調達システムで交付する。", {"entity": e[1]})

@pattern([T], kind="tender", source="Japan Tender Watch", held=True, count=8)
def _():
    e, q = r(ENTITIES), r(EQUIPMENT)
    return (f"【公募】{q[1]}導入支援業務", f"{e[1]}は{q[1]}の導入支援業務について企画競争による公募を行う。提案書の提出期限に注意。", {"entity": e[1]})

@pattern([T], kind="tender", source="JTPP Helpdesk", count=10)
def _():
    e, u = r(ENTITIES), r(UNIVERSITIES)
    q = r(["cryo-electron microscope", "next-generation DNA sequencer", "clean room equipment", "NMR spectrometer"])
    return (f"Research equipment: {q} for {u[0]}",
            f"{u[0]} invites tenders for a {q} for its research laboratories. Bidders must be qualified for the unified qualification of national ministries.", {"entity": u[0]})

@pattern([T], source="Japan Business Wire", count=10)
def _():
    x = r(["cross-border digital services", "online platforms", "imported software licences", "event tickets sold online", "foreign e-commerce sellers", "intra-group service fees"])
    return (f"National Tax Agency clarifies consumption tax rules for {x}",
            "Foreign businesses supplying digital services to Japanese consumers must register and collect consumption tax; the platform rules start in April.", {})

@pattern([T], source="Japan Business Wire", count=8)
def _():
    x = r(["corporate tax changes for foreign companies", "new rules on withholding tax", "a wider R&D tax credit", "changes to transfer pricing rules", "a minimum tax for large groups"])
    return (f"Fiscal {n(2026,2028)} tax reform outline: {x}",
            "The ruling coalition's outline revises withholding tax on dividends, the R&D tax credit and transfer pricing documentation.", {})

@pattern([T], source="JTPP Helpdesk", held=True, count=8)
def _():
    who = r(["foreign suppliers", "EU exporters", "overseas SaaS vendors", "European wine importers", "non-resident sellers"])
    return (f"Invoice system: what {who} must keep after the transitional credit ends",
            "Qualified invoices and registration numbers become decisive for buyers' input tax credit; a checklist for EU exporters.", {})

@pattern([T], source="Japan Business Wire", count=8)
def _():
    who = r(["海外事業者", "輸入業者", "免税事業者", "電子商取引事業者", "外国法人"])
    return (f"消費税のインボイス制度、{who}が注意すべき点",
            "適格請求書発行事業者の登録と仕入税額控除の要件について国税庁が解説した。", {})

# ---- Tech transfer
@pattern([X], source="University news", count=12)
def _():
    u, t = r(UNIVERSITIES), r(TECHS)
    return (f"{u[0]} licenses {t[0]} patents to start-up",
            f"The university's technology licensing office granted an exclusive licence for its {t[0]} patents; the start-up plans prototypes next year.", {})

@pattern([X], source="University news", count=10)
def _():
    u, t = r(UNIVERSITIES), r(TECHS)
    return (f"{u[1]}、{t[1]}の特許をスタートアップにライセンス",
            f"{u[1]}の技術移転部門は{t[1]}に関する特許の独占的実施許諾契約を結んだ。", {})

@pattern([X], source="University news", held=True, count=8)
def _():
    u, t = r(UNIVERSITIES), r(TECHS)
    return (f"{u[1]}発ベンチャー、{t[1]}の実用化へ資金調達",
            f"{u[1]}の研究成果をもとに設立された企業が、{t[1]}の量産に向けて資金を調達した。", {})

@pattern([E, X], source="University news", count=12)
def _():
    u, t, o = r(UNIVERSITIES), r(TECHS), r(EU_ORGS)
    return (f"{o} and {u[0]} launch joint research on {t[0]}",
            f"The European institute and the Japanese university will share laboratories and researchers, with a joint patent pool for {t[0]}.", {})

@pattern([X], source="University news", count=10)
def _():
    u, t = r(UNIVERSITIES), r(TECHS)
    return (f"{u[0]} opens call for industry partners to commercialise {t[0]}",
            f"Companies may apply to co-develop and license the {t[0]} technology; proposals are due by the end of next month.", {})

@pattern([X], kind="event", source="Tech Transfer Helpdesk", count=8)
def _():
    t = r(TECHS)
    return (f"Webinar: protecting your IP when licensing {t[0]} technology in Japan",
            "Patent filing strategies, licensing agreements and university technology licensing offices explained for European innovators.", {})

@pattern([X], source="University news", held=True, count=8)
def _():
    u, t = r(UNIVERSITIES), r(TECHS)
    return (f"Spin-off from {u[0]} raises seed funding for {t[0]}",
            f"Investors back the university start-up, which will move its {t[0]} prototype into pilot production.", {})

# ---- Nowhere
@pattern([], source="Tokyo Sports Daily", count=10)
def _():
    a, b = random.sample(TEAMS, 2)
    return (f"{a} beat {b} {n(2,6)}-{n(0,1)} to stay top of the league",
            "A late goal and a strong second half sealed the win in front of a sell-out crowd.", {})

@pattern([], source="Tokyo Sports Daily", held=True, count=6)
def _():
    a, b = random.sample(TEAMS, 2)
    return (f"{a}、{b}に逆転勝ち 首位を守る", "終盤の一打で試合を決めた。観客は満員だった。", {})

@pattern([], source="Entertainment Now", count=10)
def _():
    c = r(CELEBS)
    return (f"Actor {c} to star in new drama series this spring",
            "The broadcaster announced the cast of its new prime-time drama; filming starts next month in Kyoto.", {})

@pattern([], source="Entertainment Now", count=6)
def _():
    c = r(CELEBS)
    return (f"人気俳優の{c}さん、結婚を発表", "所属事務所が発表した。お相手は一般の方だという。", {})

@pattern([], source="City News", count=8)
def _():
    c = r(CITIES)
    return (f"Police arrest man over jewellery store robbery in {c[0]}",
            "The suspect was arrested after security camera footage was examined; no one was injured.", {})

@pattern([], source="City News", count=6)
def _():
    c = r(CITIES)
    return (f"{c[1]}市で強盗事件、容疑者を逮捕", "警察によると、けが人はいなかった。", {})

@pattern([], source="Weather Desk", count=8)
def _():
    c = r(CITIES)
    return (f"Heavy snow expected in {c[0]} this weekend",
            "The forecast calls for up to 40 cm of snow; travellers are advised to check train services.", {})

@pattern([], source="Weather Desk", held=True, count=6)
def _():
    c = r(CITIES)
    return (f"週末は{c[1]}で大雪の見込み 交通に注意", "気象台によると、週末にかけて強い寒気が流れ込む。", {})

@pattern([], source="EU-Japan Centre", count=6)
def _():
    role = r(["procurement assistant", "events officer", "tender analyst", "communications assistant", "IT support officer", "project officer for public procurement"])
    return (f"Notice of recruitment: {role}",
            f"The Centre is recruiting a {role} for its Tokyo office on a one-year contract. Applications with CV by the end of the month.", {})

@pattern([], source="Job board", count=10)
def _():
    role = r(["procurement assistant", "tender officer", "research assistant", "policy analyst", "export sales manager", "tax accountant"])
    return (f"Vacancy: {role} (fixed-term, Tokyo)",
            f"We are hiring a {role}. Japanese and English required. Apply with your CV and cover letter.", {})

@pattern([], source="Job board", held=True, count=6)
def _():
    role = r(["調達事務スタッフ", "入札担当", "研究補助員", "経理担当"])
    return (f"求人：{role}を募集（契約社員）", f"{role}を募集しています。応募書類を送付してください。", {})

@pattern([], source="Lifestyle Japan", count=8)
def _():
    c = r(CITIES)
    return (f"Sponsored: the best business hotels in {c[0]} for your next trip",
            "Our partner hotels offer free breakfast and late check-out. Book now with the promo code.", {})

@pattern([], source="Lifestyle Japan", count=8)
def _():
    c = r(CITIES)
    return (f"Ten ramen shops worth the queue in {c[0]}",
            "From rich tonkotsu to light shoyu, our food writer's picks for a cold evening.", {})


def main():
    random.seed(2026)
    train, held = [], []
    for held_pattern, labels, kind, source, fn, count in P:
        seen = set()
        tries = 0
        while len(seen) < count * 3 // 2 and tries < count * 40:
            tries += 1
            title, summary, extra = fn()
            if title in seen:
                continue
            seen.add(title)
            item = {"title": title, "summary": summary, "source": source, "kind": kind}
            item.update(extra)
            item["labels"] = labels
            if held_pattern or random.random() < 0.12:
                held.append(item)
            else:
                train.append(item)
    for name, items in (("train.jsonl", train), ("held-out.jsonl", held)):
        with open(f"data/labelled/{name}", "w", encoding="utf-8") as out:
            for item in items:
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
        print(name, len(items))

main()
