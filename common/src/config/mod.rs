//! The scrape config: the original JSON format (`scrapConfig.json`), read once at start-up
//! into typed structs, with every problem reported at once by JSON path and line:column.

mod check;
pub mod json;

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Danawa's list size the crawler always asks for (the original used 90 too).
pub const LIST_COUNT: u32 = 90;

/// A validated scrape config. Category-level values are already resolved: a category's own
/// `minimumDate` wins over the global one and its ignore words include the global ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScrapeConfig {
    /// Prefix a category number is appended to, e.g. `https://prod.danawa.com/list/?cate=`.
    pub page_base_url: String,
    /// Prefix a pcode is appended to, e.g. `https://prod.danawa.com/info/?pcode=`.
    pub item_base_url: String,
    pub categories: Vec<Category>,
    /// Hex SHA-256 of the file's bytes: a run records it so a resume can tell the config changed.
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// The config's name for it (`cpu`, `cooler`, ...): the `category` of its parts.
    pub name: String,
    /// Danawa's category number (`cate=`).
    pub number: String,
    pub start_page: u32,
    pub end_page: PageEnd,
    pub minimum_date: RegistrationDate,
    pub ignore_words: Vec<String>,
    pub filters: Vec<Filter>,
    /// Named in `itemsCategories`: its products get item jobs (spec, vendors, prices).
    pub crawl_items: bool,
}

/// The last list page to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PageEnd {
    /// `"*"`: up to the last page the first list answer announces.
    Last,
    Page(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub name: String,
    pub kind: FilterKind,
    pub value: String,
}

/// Which Danawa form field a filter value goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FilterKind {
    /// `searchMaker[]`
    Maker,
    /// `searchAttributeValue[]`
    Attribute,
}

/// A registration year and month (`YYYY.MM` on Danawa); `minimumDate: "0"` is the zero date.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RegistrationDate {
    pub year: u16,
    pub month: u8,
}

impl RegistrationDate {
    /// Parses `YYYY`, `YYYY.MM`, `YYYY-MM` or `YYYY.MM.` (as `.made_info` writes it).
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().trim_end_matches('.');
        let (year, month) = match text.split_once(['.', '-']) {
            Some((y, m)) => (y, Some(m)),
            None => (text, None),
        };
        let year: u16 = year.trim().parse().ok()?;
        let month: u8 = match month {
            Some(m) => m.trim().parse().ok().filter(|m| (1..=12).contains(m))?,
            None if year == 0 => 0,
            None => 1,
        };
        Some(Self { year, month })
    }
}

impl fmt::Display for RegistrationDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}.{:02}", self.year, self.month)
    }
}

impl ScrapeConfig {
    /// Reads and validates a config file.
    ///
    /// # Errors
    /// [`ConfigError::Io`] when the file cannot be read, [`ConfigError::Invalid`] with every
    /// problem found otherwise.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Io { file: path.display().to_string(), source })?;
        Self::parse(&text).map_err(|problems| ConfigError::Invalid { file: path.display().to_string(), problems })
    }

    /// Validates config text; `Err` holds every problem, in source order.
    pub fn parse(text: &str) -> Result<Self, Vec<ConfigProblem>> {
        let mut config = check::check(text)?;
        config.hash = hex::encode(Sha256::digest(text.as_bytes()));
        Ok(config)
    }

    pub fn category(&self, name: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.name == name)
    }
}

impl Category {
    /// Whether a name or a variant tag contains one of this category's ignore words.
    pub fn is_ignored(&self, text: &str) -> bool {
        self.ignore_words.iter().any(|w| text.contains(w.as_str()))
    }

    /// Whether a product registered at `registered` is recent enough to keep. A product whose
    /// date is unknown is kept: dropping it would lose data on a markup change.
    pub fn is_recent_enough(&self, registered: Option<RegistrationDate>) -> bool {
        registered.is_none_or(|date| date >= self.minimum_date)
    }

    /// The listings to crawl: one per filter, or a single unfiltered one.
    pub fn listings(&self) -> Vec<Option<&Filter>> {
        if self.filters.is_empty() {
            vec![None]
        } else {
            self.filters.iter().map(Some).collect()
        }
    }
}

/// One thing wrong with a config, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// JSON path such as `categories[3].filters[1].type` (`$` for the document itself).
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.line, self.column, self.path, self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config {file}: {source}")]
    Io { file: String, source: std::io::Error },
    #[error("invalid config {file}:\n{}", ProblemList(problems))]
    Invalid { file: String, problems: Vec<ConfigProblem> },
}

struct ProblemList<'a>(&'a [ConfigProblem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {problem}")?;
        }
        Ok(())
    }
}
