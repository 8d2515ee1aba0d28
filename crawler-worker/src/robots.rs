//! robots.txt: read once per site, checked against the endpoints the crawler uses, and the
//! operator's choice (obey, warn, ignore) logged once. Danawa's robots.txt disallows the AJAX
//! endpoints the list and spec data come from; with `obey` those jobs are rejected.

use std::collections::HashMap;

use tokio::sync::Mutex;

use crate::danawa::{self, Site};
use crate::errors::CrawlError;
use crate::http::Session;
use crate::settings::RobotsPolicy;

/// The `Disallow` rules of the `User-agent: *` groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rules {
    disallow: Vec<String>,
}

impl Rules {
    pub fn parse(text: &str) -> Self {
        let mut disallow = Vec::new();
        let mut group_applies = false;
        let mut in_agent_lines = false;
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let Some((key, value)) = line.split_once(':') else { continue };
            let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
            match key.as_str() {
                "user-agent" => {
                    // Consecutive User-agent lines form one group.
                    group_applies = (in_agent_lines && group_applies) || value == "*";
                    in_agent_lines = true;
                }
                "disallow" => {
                    in_agent_lines = false;
                    if group_applies && !value.is_empty() {
                        disallow.push(value.to_owned());
                    }
                }
                _ => in_agent_lines = false,
            }
        }
        Self { disallow }
    }

    pub fn allows(&self, path: &str) -> bool {
        !self.disallow.iter().any(|rule| path.starts_with(rule.as_str()))
    }
}

pub struct Robots {
    policy: RobotsPolicy,
    sites: Mutex<HashMap<String, Rules>>,
}

impl Robots {
    pub fn new(policy: RobotsPolicy) -> Self {
        Self { policy, sites: Mutex::new(HashMap::new()) }
    }

    /// Checks that the policy lets the crawler use every one of `paths` on `site`; reads
    /// robots.txt the first time a site is seen (an unreadable robots.txt allows everything,
    /// as crawlers do).
    ///
    /// # Errors
    /// [`CrawlError::Rejected`] when the policy is `obey` and robots.txt disallows a path.
    pub async fn check(&self, site: &Site, paths: &[&str], session: &mut Session) -> Result<(), CrawlError> {
        if self.policy == RobotsPolicy::Ignore && !self.sites.lock().await.is_empty() {
            return Ok(());
        }
        let mut sites = self.sites.lock().await;
        if !sites.contains_key(site.origin()) {
            let rules = match session.send(&site.robots_request()).await {
                Ok(text) => Rules::parse(&text),
                Err(_) => Rules::default(),
            };
            self.log_decision(site, &rules);
            sites.insert(site.origin().to_owned(), rules);
        }
        if self.policy != RobotsPolicy::Obey {
            return Ok(());
        }
        let rules = sites.get(site.origin());
        match paths.iter().find(|path| rules.is_some_and(|r| !r.allows(path))) {
            Some(path) => {
                Err(CrawlError::Rejected(format!("robots.txt of {} disallows {path} (--robots obey)", site.origin())))
            }
            None => Ok(()),
        }
    }

    fn log_decision(&self, site: &Site, rules: &Rules) {
        let disallowed: Vec<&str> = danawa::CRAWLER_PATHS.iter().copied().filter(|p| !rules.allows(p)).collect();
        let policy = match self.policy {
            RobotsPolicy::Obey => "obey",
            RobotsPolicy::Warn => "warn",
            RobotsPolicy::Ignore => "ignore",
        };
        if disallowed.is_empty() {
            tracing::info!(site = site.origin(), policy, "robots.txt allows every endpoint the crawler uses");
        } else {
            tracing::warn!(
                site = site.origin(),
                policy,
                disallowed = disallowed.join(", "),
                "robots.txt disallows endpoints the crawler uses; the operator chose how to treat it"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_star_group() {
        let rules = Rules::parse(
            "User-agent: Googlebot\nDisallow: /private\n\nUser-agent: *\nDisallow: /info/ajax/\nDisallow: /list/ajax/ # data\nDisallow: /api/\nAllow: /\n",
        );
        assert!(!rules.allows("/list/ajax/getProductList.ajax.php"));
        assert!(!rules.allows("/info/ajax/getProductDescription.ajax.php"));
        assert!(rules.allows("/info/"));
        assert!(rules.allows("/private"), "only the * group applies");
        assert!(Rules::parse("").allows("/anything"));
    }
}
