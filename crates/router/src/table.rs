//! The compiled route table and its builder.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use crate::build::file::{Registry, add_file};
use crate::config::RouteConfig;
use crate::doc::Doc;
use crate::error::{RouteError, RouteErrors};
use crate::filter::Filter;
use crate::matcher::{MatchScratch, Matcher};
use crate::projection::{Need, Reads};
use crate::record::{RecordParts, RecordView};
use crate::route::{Route, RouteId, Target, TargetId};

/// An immutable, compiled set of routes. Cheap to share between threads (`Arc<RouteTable>`).
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<Route>,
    targets: Vec<Target>,
    by_topic: HashMap<String, Vec<RouteId>>,
    matcher: Matcher,
    /// What the filters read of a record view.
    reads: Reads,
    /// What the JSONPath filters read of it.
    jsonpath_reads: Need,
}

thread_local! {
    static SCRATCH: RefCell<MatchScratch> = RefCell::new(MatchScratch::new());
}

/// Runs `f` with this thread's matching scratch (a fresh one if it is in use).
fn with_scratch<R>(f: impl FnOnce(&mut MatchScratch) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut MatchScratch::new()),
    })
}

impl RouteTable {
    /// Starts a builder.
    pub fn builder() -> RouteTableBuilder {
        RouteTableBuilder::new()
    }

    /// Writes the ids of the routes a record matches into `out` (cleared first), in route
    /// order: the same routes as [`RouteTable::match_record`] on
    /// [`RecordView::from_parts`]`(parts, headers)`, without building that view.
    ///
    /// Parses only the members some filter reads (the whole subtree at every field path a
    /// pattern names and under the longest plain-name prefix of every JSONPath query, plus
    /// `topic`) into one buffer that borrows the record's bytes; the other parts of the key and
    /// value are only checked to be JSON. A JSONPath filter is run on a view of what JSONPath
    /// filters read, built when the first filter that reads something the record has is
    /// evaluated (a filter that reads nothing the record has gives its known result).
    ///
    /// One difference is left on purpose: serde_json's full parse also rejects numbers beyond
    /// the `f64` range, `\u` escapes of lone surrogates and nesting beyond its recursion limit,
    /// which the syntax check of skipped members accepts (they are valid RFC 8259). Such a
    /// record is JSON here when those parts lie in members no filter reads.
    pub fn match_parts<'h>(
        &self,
        parts: RecordParts<'_>,
        headers: impl IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        out: &mut Vec<RouteId>,
    ) {
        let doc = Doc::record(parts, headers, &self.reads);
        let root = doc.root();
        let jsonpath_view = OnceCell::new();
        let confirm = |id: u32| {
            let route = &self.routes[id as usize];
            route.filters.is_empty()
                || route.filters.iter().any(|filter| match filter {
                    Filter::Pattern { pattern, .. } => pattern.matches_json(root),
                    // The view is built only for a filter that reads something the record
                    // has, and once.
                    Filter::JsonPath(f) => f.result_without_reads(root).unwrap_or_else(|| {
                        f.matches(jsonpath_view.get_or_init(|| {
                            RecordView::from_view(root.to_value(&self.jsonpath_reads))
                        }))
                    }),
                })
        };
        with_scratch(|scratch| {
            self.matcher
                .match_record(parts.topic, root, scratch, out, confirm);
        });
    }

    /// Writes the ids of the routes this record matches into `out` (cleared first), in route
    /// order. Reuse `out` across records: matching allocates nothing for the result.
    ///
    /// Uses the compiled index (see [`RouteTable::match_record_with`]) with working memory kept
    /// per thread.
    pub fn match_record(&self, record: &RecordView, out: &mut Vec<RouteId>) {
        with_scratch(|scratch| self.match_record_with(record, scratch, out));
    }

    /// Like [`RouteTable::match_record`], with caller-owned working memory.
    ///
    /// The table indexes the necessary conditions of every filter (exact values, prefixes,
    /// suffixes and numeric ranges at field paths), reads only those paths of the record, and
    /// evaluates only the routes whose conditions hold, plus routes whose filters give no such
    /// condition. The result is the same as [`RouteTable::match_record_naive`]'s.
    pub fn match_record_with(
        &self,
        record: &RecordView,
        scratch: &mut MatchScratch,
        out: &mut Vec<RouteId>,
    ) {
        self.matcher
            .match_record(record.topic(), record.view(), scratch, out, |id| {
                self.routes[id as usize].matches(record)
            });
    }

    /// The reference evaluation: every route of the record's topic, in turn. Slower than
    /// [`RouteTable::match_record`] on large tables, with the same result; kept as the oracle
    /// for tests and benchmarks.
    pub fn match_record_naive(&self, record: &RecordView, out: &mut Vec<RouteId>) {
        out.clear();
        let Some(candidates) = self.by_topic.get(record.topic()) else {
            return;
        };
        out.extend(
            candidates
                .iter()
                .copied()
                .filter(|id| self.route(*id).matches(record)),
        );
    }

    /// A route by id.
    pub fn route(&self, id: RouteId) -> &Route {
        &self.routes[id.0 as usize]
    }

    /// A target by id.
    pub fn target(&self, id: TargetId) -> &Target {
        &self.targets[id.0 as usize]
    }

    /// The targets of a route.
    pub fn route_targets(&self, id: RouteId) -> impl Iterator<Item = &Target> {
        self.route(id).targets.iter().map(|t| self.target(*t))
    }

    /// All routes, in load order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// All targets, ordered by id.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }

    /// The topics some route reads, sorted.
    pub fn topics(&self) -> Vec<&str> {
        let mut topics: Vec<&str> = self.by_topic.keys().map(String::as_str).collect();
        topics.sort_unstable();
        topics
    }

    /// The routes reading a topic.
    pub fn routes_for_topic(&self, topic: &str) -> &[RouteId] {
        self.by_topic.get(topic).map(Vec::as_slice).unwrap_or(&[])
    }
}

type EnvLookup = Box<dyn Fn(&str) -> Option<String>>;

/// Collects routes from route-file texts or from code, then compiles them into a [`RouteTable`].
///
/// Every problem across every file is kept; [`RouteTableBuilder::build`] returns them all.
pub struct RouteTableBuilder {
    registry: Registry,
    errors: Vec<RouteError>,
    env: EnvLookup,
}

impl Default for RouteTableBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for RouteTableBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteTableBuilder")
            .field("routes", &self.registry.routes.len())
            .field("errors", &self.errors)
            .finish()
    }
}

impl RouteTableBuilder {
    /// A builder that resolves `${NAME}` from the process environment.
    pub fn new() -> Self {
        RouteTableBuilder {
            registry: Registry::default(),
            errors: Vec::new(),
            env: Box::new(|name| std::env::var(name).ok()),
        }
    }

    /// Resolve `${NAME}` with this function instead of the process environment.
    pub fn env(mut self, lookup: impl Fn(&str) -> Option<String> + 'static) -> Self {
        self.env = Box::new(lookup);
        self
    }

    /// Adds the routes of one route file. `file` names it in error messages; `text` is YAML or
    /// JSON with a top-level `routes:` list. Problems are kept for [`Self::build`].
    ///
    /// The file's routes are read, checked and compiled one at a time, so that loading takes
    /// memory in proportion to the compiled routes, not to the file's parsed text.
    pub fn add_file(&mut self, file: &str, text: &str) -> &mut Self {
        add_file(&mut self.registry, &mut self.errors, &*self.env, file, text);
        self
    }

    /// Adds a route built in code (errors are reported with file `<code>`).
    pub fn add_route(&mut self, route: &RouteConfig) -> &mut Self {
        self.registry
            .add_checked(&mut self.errors, "<code>", route, &|_| (0, 0));
        self
    }

    /// Compiles the table, or returns every problem found.
    pub fn build(self) -> Result<RouteTable, RouteErrors> {
        if !self.errors.is_empty() {
            return Err(RouteErrors(self.errors));
        }
        let mut table = RouteTable::default();
        let routes = self.registry.routes;
        table.routes.reserve_exact(routes.len());
        table
            .targets
            .reserve_exact(routes.iter().map(|(_, r)| r.targets.len()).sum());
        for (origin, built) in routes {
            let id = RouteId(table.routes.len() as u32);
            let mut target_ids = Vec::with_capacity(built.targets.len());
            for (name, kind, delivery) in built.targets {
                let tid = TargetId(table.targets.len() as u32);
                target_ids.push(tid);
                table.targets.push(Target {
                    id: tid,
                    route: id,
                    qualified_name: format!("{}/{name}", built.name),
                    name,
                    kind,
                    delivery,
                });
            }
            for topic in &built.topics {
                table.by_topic.entry(topic.clone()).or_default().push(id);
            }
            table.routes.push(Route {
                id,
                name: built.name,
                description: built.description,
                origin,
                topics: built.topics,
                filters: built.filters,
                targets: target_ids,
            });
        }
        table.matcher = Matcher::build(&table.routes);
        let filters = || table.routes.iter().flat_map(|r| &r.filters);
        let reads_all = reads(filters());
        let jsonpath_reads = reads(filters().filter(|f| matches!(f, Filter::JsonPath(_))));
        table.matcher.link(&reads_all);
        table.reads = Reads::new(reads_all);
        table.jsonpath_reads = jsonpath_reads;
        Ok(table)
    }
}

/// Every member of the record view some of `filters` reads.
fn reads<'f>(filters: impl Iterator<Item = &'f Filter>) -> Need {
    let mut need = Need::nothing();
    for filter in filters {
        match filter {
            Filter::Pattern { pattern, .. } => {
                for path in pattern.field_paths() {
                    need.add(&path);
                }
            }
            Filter::JsonPath(f) => match f.read_prefixes() {
                Some(paths) => paths.iter().for_each(|p| need.add(p)),
                None => need.add(&[]),
            },
        }
    }
    need
}
