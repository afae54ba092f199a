//! The vocabulary of the system: the service catalog and the contributing-factor tags.
//!
//! Both come from the config (`[[services]]`, `[[factors]]`) and are checked once, when
//! they are built: no two services share a name or alias, no two factors a tag. After
//! that, every name a user types goes through [`ServiceCatalog::resolve`] or
//! [`FactorVocabulary::resolve`], which return the catalog's own entry or an
//! [`UnknownName`] carrying the closest names to suggest. Other surfaces (alerts' `service`
//! label, the web editor) resolve names the same way, so an incident only ever stores
//! catalog names and vocabulary tags.

use std::collections::BTreeMap;

use storage::{ChannelId, Platform};

use crate::format;

/// The longest service name, alias or tag (the storage bound).
pub const MAX_NAME: usize = 64;
/// How many closest names a refusal suggests.
const MAX_SUGGESTIONS: usize = 3;
/// How alike two names must be (Jaro-Winkler, 0 to 1) for one to be suggested for the other.
const SUGGEST_THRESHOLD: f64 = 0.75;

/// One service of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The name stored with incidents: lowercase letters, digits, `-`, `_` and `.`.
    pub name: String,
    pub description: String,
    /// The team that owns it, by name.
    pub team: String,
    /// Platform user ids invited to every incident that names the service.
    pub owners: Vec<String>,
    /// The team's channel per platform (platform channel id; console: name), which gets
    /// the announcement of an incident naming the service.
    pub team_channels: BTreeMap<Platform, ChannelId>,
    /// Other names users may type for it.
    pub aliases: Vec<String>,
}

impl Service {
    /// A service with only a name, for tests and simple catalogs.
    pub fn named(name: &str) -> Service {
        Service {
            name: name.to_string(),
            description: String::new(),
            team: String::new(),
            owners: Vec::new(),
            team_channels: BTreeMap::new(),
            aliases: Vec::new(),
        }
    }
}

/// One contributing factor of the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    /// The tag users type and the digest counts: lowercase words joined by `-`.
    pub tag: String,
    /// What it means, worded about the system, never the person.
    pub description: String,
}

/// A catalog or vocabulary that cannot be used as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("service `{0}` is listed twice")]
    DuplicateService(String),
    #[error("`{name}` is both an alias of `{first}` and a name or alias of `{second}`")]
    DuplicateAlias { name: String, first: String, second: String },
    #[error("factor tag `{0}` is listed twice")]
    DuplicateTag(String),
    #[error(
        "`{0}` is not a usable name: use 1-64 lowercase letters, digits, `-`, `_` or `.`, starting with a letter or digit"
    )]
    BadName(String),
}

/// A name typed by a user that is not in the catalog or vocabulary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownName {
    /// `service` or `factor tag`.
    pub what: &'static str,
    /// What was typed, cleaned and cut for echoing.
    pub typed: String,
    /// The closest known names, best first.
    pub suggestions: Vec<String>,
    /// Every known name, when there are few enough to list.
    pub known: Vec<String>,
}

impl std::fmt::Display for UnknownName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` is not a known {}.", self.typed, self.what)?;
        match (self.suggestions.as_slice(), self.known.is_empty()) {
            ([], true) => write!(f, " None are configured."),
            ([], false) => write!(f, " Known: {}.", self.known.join(", ")),
            (suggestions, _) => write!(f, " Did you mean {}?", or_list(suggestions)),
        }
    }
}

/// `a`, `a or b`, `a, b or c`.
fn or_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Whether `name` is a usable service name, alias or tag.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    first_ok
        && name.len() <= MAX_NAME
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'))
}

/// What a user typed, as it is compared: trimmed, lowercase, `#` or `service:` dropped.
fn normalise(typed: &str) -> String {
    typed.trim().trim_start_matches('#').to_lowercase()
}

/// The closest of `names` to `typed`, best first.
fn closest<'a>(typed: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let typed = normalise(typed);
    let mut scored: Vec<(f64, &str)> = names
        .map(|name| {
            let mut score = strsim::jaro_winkler(&typed, name);
            // A name that contains what was typed (or the other way round) is a good
            // guess even when the lengths differ a lot: `db` for `postgres-db`.
            if !typed.is_empty() && (name.contains(typed.as_str()) || typed.contains(name)) {
                score = score.max(0.9);
            }
            (score, name)
        })
        .filter(|(score, _)| *score >= SUGGEST_THRESHOLD)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    let mut out: Vec<String> = Vec::new();
    for (_, name) in scored {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
        if out.len() == MAX_SUGGESTIONS {
            break;
        }
    }
    out
}

/// Names short enough to list in a refusal when none is close.
const MAX_LISTED: usize = 12;

/// The configured services, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceCatalog {
    services: Vec<Service>,
}

impl ServiceCatalog {
    /// Checks and builds the catalog: names and aliases are valid and unique.
    pub fn new(services: Vec<Service>) -> Result<ServiceCatalog, CatalogError> {
        let mut owner_of: BTreeMap<&str, &str> = BTreeMap::new();
        for service in &services {
            if !is_valid_name(&service.name) {
                return Err(CatalogError::BadName(service.name.clone()));
            }
            if let Some(first) = owner_of.insert(&service.name, &service.name) {
                return Err(if first == service.name {
                    CatalogError::DuplicateService(service.name.clone())
                } else {
                    CatalogError::DuplicateAlias {
                        name: service.name.clone(),
                        first: first.to_string(),
                        second: service.name.clone(),
                    }
                });
            }
        }
        for service in &services {
            for alias in &service.aliases {
                if !is_valid_name(alias) {
                    return Err(CatalogError::BadName(alias.clone()));
                }
                if let Some(first) = owner_of.insert(alias, &service.name) {
                    return Err(CatalogError::DuplicateAlias {
                        name: alias.clone(),
                        first: service.name.clone(),
                        second: first.to_string(),
                    });
                }
            }
        }
        Ok(ServiceCatalog { services })
    }

    pub fn is_empty(&self) -> bool {
        self.services.is_empty()
    }

    pub fn services(&self) -> &[Service] {
        &self.services
    }

    /// The service with this name or alias, in any case.
    pub fn find(&self, typed: &str) -> Option<&Service> {
        let typed = normalise(typed);
        self.services.iter().find(|s| s.name == typed || s.aliases.contains(&typed))
    }

    /// The service a user named, or why not, with the closest names.
    pub fn resolve(&self, typed: &str) -> Result<&Service, UnknownName> {
        self.find(typed).ok_or_else(|| {
            let names = self
                .services
                .iter()
                .flat_map(|s| std::iter::once(s.name.as_str()).chain(s.aliases.iter().map(String::as_str)));
            // An alias suggested is shown as the service it names.
            let suggestions = closest(typed, names)
                .into_iter()
                .filter_map(|name| self.find(&name).map(|s| s.name.clone()))
                .fold(Vec::new(), |mut out: Vec<String>, name| {
                    if !out.contains(&name) {
                        out.push(name);
                    }
                    out
                });
            UnknownName {
                what: "service",
                typed: echo(typed),
                suggestions,
                known: listed(self.services.iter().map(|s| s.name.as_str())),
            }
        })
    }

    /// Services whose name, alias or description contains `typed`, for a picker
    /// (Discord's autocomplete), at most `max`.
    pub fn matching(&self, typed: &str, max: usize) -> Vec<&Service> {
        let typed = normalise(typed);
        self.services
            .iter()
            .filter(|s| {
                typed.is_empty()
                    || s.name.contains(&typed)
                    || s.aliases.iter().any(|a| a.contains(&typed))
                    || s.description.to_lowercase().contains(&typed)
            })
            .take(max)
            .collect()
    }
}

/// The contributing-factor tags, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactorVocabulary {
    factors: Vec<Factor>,
}

impl Default for FactorVocabulary {
    /// The set a team starts with ([`default_factors`]).
    fn default() -> Self {
        FactorVocabulary { factors: default_factors() }
    }
}

impl FactorVocabulary {
    /// Checks and builds the vocabulary: tags are valid and unique.
    pub fn new(factors: Vec<Factor>) -> Result<FactorVocabulary, CatalogError> {
        let mut seen = std::collections::BTreeSet::new();
        for factor in &factors {
            if !is_valid_name(&factor.tag) {
                return Err(CatalogError::BadName(factor.tag.clone()));
            }
            if !seen.insert(factor.tag.as_str()) {
                return Err(CatalogError::DuplicateTag(factor.tag.clone()));
            }
        }
        Ok(FactorVocabulary { factors })
    }

    pub fn factors(&self) -> &[Factor] {
        &self.factors
    }

    pub fn find(&self, typed: &str) -> Option<&Factor> {
        let typed = normalise(typed);
        self.factors.iter().find(|f| f.tag == typed)
    }

    /// The factor a user named, or why not, with the closest tags.
    pub fn resolve(&self, typed: &str) -> Result<&Factor, UnknownName> {
        self.find(typed).ok_or_else(|| UnknownName {
            what: "factor tag",
            typed: echo(typed),
            suggestions: closest(typed, self.factors.iter().map(|f| f.tag.as_str())),
            known: listed(self.factors.iter().map(|f| f.tag.as_str())),
        })
    }

    /// Factors whose tag or description contains `typed`, for a picker, at most `max`.
    pub fn matching(&self, typed: &str, max: usize) -> Vec<&Factor> {
        let typed = normalise(typed);
        self.factors
            .iter()
            .filter(|f| typed.is_empty() || f.tag.contains(&typed) || f.description.to_lowercase().contains(&typed))
            .take(max)
            .collect()
    }
}

fn echo(typed: &str) -> String {
    format::truncate(&crate::text::clean(typed.trim(), false), 40).0
}

fn listed<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<String> = names.map(str::to_string).collect();
    if names.len() <= MAX_LISTED {
        names
    } else {
        Vec::new()
    }
}

/// The contributing factors a team starts with. Each is worded about the system: what
/// let the failure happen or grow, never who did what.
pub fn default_factors() -> Vec<Factor> {
    let factor = |tag: &str, description: &str| Factor { tag: tag.to_string(), description: description.to_string() };
    vec![
        factor("change", "A deploy or config change set it off; ask what let the change through unchecked."),
        factor("capacity", "Load outgrew what the system was sized or limited for."),
        factor("dependency-failure", "A service or provider we rely on failed, and we had no fallback."),
        factor("monitoring-gap", "We could not see the problem: a metric, log or dashboard was missing."),
        factor("alerting-gap", "The signal existed, but no alert fired, or it fired late or to no one."),
        factor("runbook-gap", "No runbook, or one that was out of date, for what responders faced."),
        factor("single-point-of-failure", "One component, host or person the design relied on alone."),
        factor("test-gap", "No test covered the case that broke."),
        factor("process", "A process (review, rollout, handover) allowed it or slowed the response."),
        factor("knowledge", "Knowledge the response needed was not written down or shared in onboarding."),
        factor(
            "human-system-interface",
            "The tool made the mistake easy: a confusing UI, a dangerous default, no confirmation.",
        ),
    ]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn catalog() -> ServiceCatalog {
        let mut checkout = Service::named("checkout");
        checkout.aliases = vec!["cart".into()];
        ServiceCatalog::new(vec![checkout, Service::named("payments"), Service::named("search")]).unwrap()
    }

    #[test]
    fn names_and_aliases_resolve_in_any_case() {
        assert_eq!(catalog().resolve("Checkout").unwrap().name, "checkout");
        assert_eq!(catalog().resolve("CART").unwrap().name, "checkout");
    }

    #[test]
    fn unknown_names_suggest_the_closest() {
        let unknown = catalog().resolve("chekout").unwrap_err();
        assert_eq!(unknown.suggestions, vec!["checkout"]);
        assert_eq!(unknown.to_string(), "`chekout` is not a known service. Did you mean checkout?");
        let unknown = catalog().resolve("zzz").unwrap_err();
        assert!(unknown.to_string().contains("Known: checkout, payments, search."), "{unknown}");
        let unknown = FactorVocabulary::default().resolve("monitoring").unwrap_err();
        assert_eq!(unknown.suggestions[0], "monitoring-gap");
        let unknown = FactorVocabulary::default().resolve("alert-gap").unwrap_err();
        assert_eq!(unknown.suggestions[0], "alerting-gap");
    }

    #[test]
    fn duplicates_are_refused() {
        let twice = ServiceCatalog::new(vec![Service::named("a"), Service::named("a")]);
        assert_eq!(twice, Err(CatalogError::DuplicateService("a".into())));
        let mut b = Service::named("b");
        b.aliases = vec!["a".into()];
        assert!(matches!(ServiceCatalog::new(vec![Service::named("a"), b]), Err(CatalogError::DuplicateAlias { .. })));
        let tag = |t: &str| Factor { tag: t.into(), description: String::new() };
        assert_eq!(FactorVocabulary::new(vec![tag("x"), tag("x")]), Err(CatalogError::DuplicateTag("x".into())));
        assert!(matches!(ServiceCatalog::new(vec![Service::named("Bad Name")]), Err(CatalogError::BadName(_))));
    }

    #[test]
    fn the_default_vocabulary_is_valid_and_blameless() {
        let vocabulary = FactorVocabulary::new(default_factors()).unwrap();
        assert_eq!(vocabulary.factors().len(), 11);
        for factor in vocabulary.factors() {
            assert!(crate::blameless::blame_signals(&factor.description).is_empty(), "{}", factor.tag);
        }
    }

    #[test]
    fn multibyte_names_are_refused_without_panics() {
        for typed in ["é", "😀", "\u{202E}x", "👩‍💻", ""] {
            assert!(catalog().resolve(typed).is_err());
            assert!(FactorVocabulary::default().resolve(typed).is_err());
        }
    }
}
