//! The built-in categories: the nine of `scrapConfig.json`, with its maker codes and attribute
//! values, plus the Danawa codes the list request needs (which differ from the `cate=` number).

/// What a category sells; drives names, spec tables and prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Cpu,
    Motherboard,
    Memory,
    Graphics,
    Ssd,
    Hdd,
    Case,
    Power,
    Cooler,
}

/// A maker: its Danawa code (the `searchMaker[]` value), its display name, and the spec
/// table's '제조회사' text, which may carry spaces and parentheses.
#[derive(Debug, Clone, Copy)]
pub struct Maker {
    pub code: u32,
    pub name: &'static str,
    pub spec_name: &'static str,
}

/// An attribute value (`searchAttributeValue[]`) and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Attr {
    pub value: u32,
    pub name: &'static str,
    /// Relative weight within its group; value 0 means "none of the group".
    pub weight: u32,
}

/// A group of attribute values (one block of the category page's search options). Its `id` is
/// the GROUP part of the checkbox value `CATE|GROUP|ATTRIBUTE|OR` (DANAWA.md "Newer evidence":
/// attribute filters need the full checkbox value).
#[derive(Debug)]
pub struct AttrGroup {
    /// Four digits, distinct within a category.
    pub id: u32,
    /// The block's title on the category page.
    pub name: &'static str,
    pub values: &'static [Attr],
}

/// A built-in category.
#[derive(Debug)]
pub struct CategoryDef {
    pub name: &'static str,
    /// The `cate=` number of the category page.
    pub number: u32,
    pub kind: Kind,
    pub group: u32,
    pub depth: u32,
    /// `nListCategoryCode` / `listCategoryCode`.
    pub list_code: u32,
    /// `nCategoryCode` / `categoryCode`. For PC parts it equals the list code (DANAWA.md "Newer
    /// evidence": category codes); the crawler still reads it from the page.
    pub category_code: u32,
    /// `sPhysicsCate1..4`, also the product page's `nCategoryCode1..4`.
    pub physics: [u32; 4],
    pub makers: &'static [Maker],
    /// Attribute groups: a product takes one value (or none) from each group.
    pub attr_groups: &'static [AttrGroup],
    /// The `cate` the Next.js payload names when it differs from `number` (HDD: 11229614, with
    /// `originCategory` = `number`); `/list/?cate=` serves the category under both.
    pub next_cate: Option<u32>,
    /// Korean display name for breadcrumbs and titles.
    pub label: &'static str,
}

impl CategoryDef {
    /// The `value` of attribute `attr`'s search-option checkbox, `CATE|GROUP|ATTRIBUTE|OR` (e.g.
    /// `751|3611|2153|OR`): the only form the list endpoint filters by (DANAWA.md "Newer
    /// evidence": attribute filters need the full checkbox value). `None` for an attribute this
    /// category does not offer.
    pub fn attribute_value(&self, attr: u32) -> Option<String> {
        self.attr_groups
            .iter()
            .find(|group| group.values.iter().any(|a| a.value == attr && a.value != 0))
            .map(|group| format!("{}|{}|{attr}|OR", self.list_code, group.id))
    }

    /// Every offered attribute value with its full checkbox value, in page order.
    pub fn offered_attributes(&self) -> impl Iterator<Item = (&'static AttrGroup, &'static Attr, String)> + '_ {
        self.attr_groups.iter().flat_map(move |group| {
            group
                .values
                .iter()
                .filter(|a| a.value != 0)
                .map(move |a| (group, a, format!("{}|{}|{}|OR", self.list_code, group.id, a.value)))
        })
    }

    /// Whether `/list/?cate=number` names this category (its own number or its Next.js code).
    pub fn answers_to(&self, number: u32) -> bool {
        self.number == number || self.next_cate == Some(number)
    }

    /// `oCurrentCategoryCode`: a PHP-serialised pair of UI codes, 97 then the list code (DANAWA.md
    /// "Newer evidence": category codes).
    pub fn current_category_code(&self) -> String {
        format!("a:2:{{i:1;i:97;i:2;i:{};}}", self.list_code)
    }
}

const fn m(code: u32, name: &'static str, spec_name: &'static str) -> Maker {
    Maker { code, name, spec_name }
}

const fn a(value: u32, name: &'static str, weight: u32) -> Attr {
    Attr { value, name, weight }
}

const fn g(id: u32, name: &'static str, values: &'static [Attr]) -> AttrGroup {
    AttrGroup { id, name, values }
}

const CPU_MAKERS: &[Maker] = &[m(3156, "인텔", "인텔 (정품)"), m(3132, "AMD", "AMD (정품)")];
const BOARD_MAKERS: &[Maker] = &[
    m(2869, "ASUS", "ASUS"),
    m(2904, "MSI", "MSI"),
    m(3148, "GIGABYTE", "GIGABYTE (기가바이트)"),
    m(4503, "ASRock", "ASRock (애즈락)"),
    m(3277, "BIOSTAR", "BIOSTAR"),
];
const MEMORY_MAKERS: &[Maker] = &[
    m(3120, "삼성전자", "삼성전자"),
    m(3128, "SK하이닉스", "SK 하이닉스"),
    m(4130, "G.SKILL", "G.SKILL (지스킬)"),
    m(3292, "마이크론", "마이크론 (Crucial)"),
    m(6014, "TeamGroup", "Team Group (팀그룹)"),
];
const GRAPHICS_MAKERS: &[Maker] = &[
    m(4527, "이엠텍", "이엠텍 (EMTEK)"),
    m(2904, "MSI", "MSI"),
    m(3148, "GIGABYTE", "GIGABYTE (기가바이트)"),
    m(2869, "ASUS", "ASUS"),
    m(11578, "ZOTAC", "ZOTAC (조텍)"),
    m(3230, "갤럭시", "갤럭시 (GALAX)"),
    m(45001, "SAPPHIRE", "SAPPHIRE (사파이어)"),
];
const SSD_MAKERS: &[Maker] = &[
    m(3120, "삼성전자", "삼성전자"),
    m(3300, "Western Digital", "Western Digital (WD)"),
    m(3128, "SK하이닉스", "SK 하이닉스"),
    m(3292, "마이크론", "마이크론 (Crucial)"),
    m(40007, "한창코퍼레이션", "한창 코퍼레이션"),
];
const HDD_MAKERS: &[Maker] = &[
    m(3310, "Seagate", "Seagate (씨게이트)"),
    m(3300, "Western Digital", "Western Digital (WD)"),
    m(3312, "도시바", "TOSHIBA (도시바)"),
];
const CASE_MAKERS: &[Maker] = &[
    m(2108, "앱코", "앱코 (ABKO)"),
    m(15938410, "darkFlash", "darkFlash (다크플래쉬)"),
    m(3160, "마이크로닉스", "마이크로닉스 (Micronics)"),
    m(94456, "3RSYS", "3RSYS"),
    m(4192, "리안리", "리안리 (LIAN LI)"),
    m(32917, "NZXT", "NZXT"),
];
const POWER_MAKERS: &[Maker] = &[
    m(3160, "마이크로닉스", "마이크로닉스 (Micronics)"),
    m(3329, "시소닉", "시소닉 (SEASONIC)"),
    m(4450, "FSP", "FSP"),
    m(3157, "잘만", "잘만 (ZALMAN)"),
    m(3134, "쿨러마스터", "쿨러마스터 (Cooler Master)"),
    m(4127, "CORSAIR", "CORSAIR (커세어)"),
];
const COOLER_MAKERS: &[Maker] = &[
    m(94456, "3RSYS", "3RSYS"),
    m(43489745, "ALPHACOOL", "ALPHACOOL"),
    m(45196, "ARCTIC", "ARCTIC (아크틱)"),
    m(4503, "ASRock", "ASRock"),
    m(2869, "ASUS", "ASUS"),
    m(57038, "BRAVOTEC", "BRAVOTEC"),
    m(4127, "CORSAIR", "CORSAIR (커세어)"),
    m(28016, "COUGAR", "COUGAR"),
    m(15938410, "darkFlash", "darkFlash"),
    m(51853, "DEEPCOOL", "DEEPCOOL (딥쿨)"),
    m(5408, "EVGA", "EVGA"),
    m(4450, "FSP", "FSP"),
    m(4130, "G.SKILL", "G.SKILL"),
    m(3148, "GIGABYTE", "GIGABYTE"),
    m(117525, "JONSBO", "JONSBO (존스보)"),
    m(2904, "MSI", "MSI"),
    m(32727, "NOCTUA", "NOCTUA (녹투아)"),
    m(32917, "NZXT", "NZXT"),
    m(90587, "PCCOOLER", "PCCOOLER"),
    m(5738, "SilverStone", "SilverStone (실버스톤)"),
    m(3210, "Thermalright", "Thermalright (써멀라이트)"),
    m(91704, "대양케이스", "대양 케이스"),
    m(4192, "리안리", "리안리 (LIAN LI)"),
    m(3160, "마이크로닉스", "마이크로닉스"),
    m(105703, "맥스엘리트", "맥스엘리트 (MAXELITE)"),
    m(112539, "시스기어", "시스기어"),
    m(41818805, "싸이오닉", "싸이오닉"),
    m(3186, "써멀테이크", "써멀테이크 (Thermaltake)"),
    m(22601, "써모랩", "써모랩"),
    m(2108, "앱코", "앱코 (ABKO)"),
    m(3851, "에너맥스", "에너맥스 (ENERMAX)"),
    m(4527, "이엠텍", "이엠텍"),
    m(3156, "인텔", "인텔 (정품)"),
    m(3157, "잘만", "잘만 (ZALMAN)"),
    m(3134, "쿨러마스터", "쿨러마스터 (Cooler Master)"),
    m(99001, "에어로쿨", "에어로쿨 (AeroCool)"),
];

const NONE: u32 = 0;

/// The built-in categories, in `scrapConfig.json` order.
pub static CATEGORIES: &[CategoryDef] = &[
    CategoryDef {
        name: "cpu",
        number: 112747,
        kind: Kind::Cpu,
        group: 11,
        depth: 2,
        list_code: 747,
        category_code: 747,
        physics: [861, 873, 0, 0],
        makers: CPU_MAKERS,
        attr_groups: &[],
        next_cate: None,
        label: "CPU",
    },
    CategoryDef {
        name: "motherboard",
        number: 112751,
        kind: Kind::Motherboard,
        group: 11,
        depth: 2,
        list_code: 751,
        category_code: 751,
        physics: [861, 875, 0, 0],
        makers: BOARD_MAKERS,
        attr_groups: &[g(3611, "CPU 종류", &[a(2153, "인텔 CPU 전용", 55), a(2154, "AMD CPU 전용", 45)])],
        next_cate: None,
        label: "메인보드",
    },
    CategoryDef {
        name: "memory",
        number: 112752,
        kind: Kind::Memory,
        group: 11,
        depth: 2,
        list_code: 752,
        category_code: 752,
        physics: [861, 874, 0, 0],
        makers: MEMORY_MAKERS,
        attr_groups: &[g(1205, "사용 장치", &[a(1223, "데스크탑 전용", 80), a(1224, "노트북 전용", 20)])],
        next_cate: None,
        label: "메모리",
    },
    CategoryDef {
        name: "graphics",
        number: 112753,
        kind: Kind::Graphics,
        group: 11,
        depth: 2,
        list_code: 753,
        category_code: 753,
        physics: [861, 876, 0, 0],
        makers: GRAPHICS_MAKERS,
        attr_groups: &[g(
            3516,
            "칩셋 제조사",
            &[a(3518, "NVIDIA 칩셋", 70), a(3517, "AMD 칩셋", 25), a(3519, "인텔 칩셋", 5)],
        )],
        next_cate: None,
        label: "그래픽카드",
    },
    CategoryDef {
        name: "ssd",
        number: 112760,
        kind: Kind::Ssd,
        group: 11,
        depth: 2,
        list_code: 760,
        category_code: 760,
        physics: [861, 32617, 0, 0],
        makers: SSD_MAKERS,
        attr_groups: &[g(6367, "사용 장치", &[a(636719, "데스크탑 전용", 85), a(636720, "노트북 전용", 15)])],
        next_cate: None,
        label: "SSD",
    },
    CategoryDef {
        name: "hdd",
        number: 112763,
        kind: Kind::Hdd,
        group: 11,
        depth: 2,
        list_code: 763,
        category_code: 763,
        physics: [861, 877, 0, 0],
        makers: HDD_MAKERS,
        attr_groups: &[g(4391, "사용 장치", &[a(4393, "데스크탑 전용", 85), a(4394, "노트북 전용", 15)])],
        // DANAWA.md "Newer evidence", category codes: the 2026 Next.js payload names HDD 11229614.
        next_cate: Some(11229614),
        label: "HDD",
    },
    CategoryDef {
        name: "case",
        number: 112775,
        kind: Kind::Case,
        group: 11,
        depth: 2,
        list_code: 775,
        category_code: 775,
        physics: [861, 879, 0, 0],
        makers: CASE_MAKERS,
        attr_groups: &[
            g(
                5110,
                "지원 보드",
                &[
                    a(5112, "ATX", 50),
                    a(153734, "M-ATX", 25),
                    a(131810, "RTX", 5),
                    a(5115, "미니 ITX", 15),
                    a(NONE, "", 5),
                ],
            ),
            g(5117, "케이스 종류", &[a(5116, "튜닝 케이스", 30), a(NONE, "", 70)]),
        ],
        next_cate: None,
        label: "케이스",
    },
    CategoryDef {
        name: "power",
        number: 112777,
        kind: Kind::Power,
        group: 11,
        depth: 2,
        list_code: 777,
        category_code: 777,
        physics: [861, 880, 0, 0],
        makers: POWER_MAKERS,
        attr_groups: &[g(5528, "파워 규격", &[a(5529, "ATX 파워", 80), a(5530, "M-ATX 파워", 12), a(NONE, "", 8)])],
        next_cate: None,
        label: "파워",
    },
    CategoryDef {
        name: "cooler",
        number: 11236855,
        kind: Kind::Cooler,
        group: 11,
        depth: 2,
        list_code: 36855,
        category_code: 36855,
        physics: [862, 887, 0, 0],
        makers: COOLER_MAKERS,
        attr_groups: &[g(4014, "쿨러 종류", &[a(4015, "CPU 쿨러", 60), a(4017, "시스템 쿨러", 35), a(NONE, "", 5)])],
        next_cate: None,
        label: "쿨러/튜닝",
    },
];
