//! The compiled route table and its builder.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;

use serde_json::Value;

use crate::build::{BuiltRoute, Problem, build_route};
use crate::config::{RouteConfig, RouteFileConfig, load_source};
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
    /// filters read, built only when one is evaluated.
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
                    Filter::JsonPath(f) => f.matches(jsonpath_view.get_or_init(|| {
                        RecordView::from_view(root.to_value(&self.jsonpath_reads))
                    })),
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
    routes: Vec<(String, BuiltRoute)>,
    names: HashMap<String, String>,
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
            .field("routes", &self.routes.len())
            .field("errors", &self.errors)
            .finish()
    }
}

impl RouteTableBuilder {
    /// A builder that resolves `${NAME}` from the process environment.
    pub fn new() -> Self {
        RouteTableBuilder {
            routes: Vec::new(),
            names: HashMap::new(),
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
    pub fn add_file(&mut self, file: &str, text: &str) -> &mut Self {
        let source = match load_source(text, &*self.env) {
            Ok(s) => s,
            Err(e) => {
                self.errors.push(RouteError {
                    file: file.to_owned(),
                    line: e.line,
                    column: e.column,
                    route: None,
                    field: e.path,
                    message: e.message,
                    hint: None,
                });
                return self;
            }
        };
        // Routes with a bad `${ENV}` reference or a duplicate key are reported once, here, and
        // not checked further (their values are not what the user meant).
        let mut unreadable = Vec::new();
        for e in &source.errors {
            let index = route_index(&e.path);
            unreadable.extend(index);
            let route = index
                .and_then(|i| source.value["routes"][i]["name"].as_str())
                .map(str::to_owned);
            let field = match index {
                Some(i) => e.path[format!("routes[{i}]").len()..]
                    .trim_start_matches('.')
                    .to_owned(),
                None => e.path.clone(),
            };
            self.errors.push(RouteError {
                file: file.to_owned(),
                line: e.line,
                column: e.column,
                route,
                field,
                message: e.message.clone(),
                hint: None,
            });
        }
        let routes = match serde_json::from_value::<RouteFileConfig>(source.value.clone()) {
            Ok(file_cfg) => file_cfg.routes,
            Err(e) => {
                let (line, column) = source.position("");
                self.errors.push(RouteError {
                    file: file.to_owned(),
                    line,
                    column,
                    route: None,
                    field: String::new(),
                    message: e.to_string(),
                    hint: Some("a route file is a mapping with one key, `routes:`, holding a list of routes".into()),
                });
                return self;
            }
        };
        for (i, value) in routes.into_iter().enumerate() {
            let prefix = format!("routes[{i}]");
            let name = value.get("name").and_then(Value::as_str).map(str::to_owned);
            let at = |field: &str| {
                let full = if field.is_empty() {
                    prefix.clone()
                } else {
                    format!("{prefix}.{field}")
                };
                source.position(&full)
            };
            if unreadable.contains(&i) {
                // Still claim the name, so that a duplicate is reported too.
                if let Some(e) = name.as_deref().and_then(|n| self.check_name(file, n, &at)) {
                    self.errors.push(e);
                }
                continue;
            }
            // Report every field error, not only serde's first: drop the offending field and
            // read the route again, until it reads or a required field is missing.
            let mut value = value;
            let mut removed: Vec<String> = Vec::new();
            let mut attempts = 0;
            loop {
                match serde_path_to_error::deserialize::<_, RouteConfig>(&value) {
                    Ok(cfg) => {
                        // With fields removed, the errors above already fail the build; the
                        // checks still run so that their problems are reported too.
                        self.add_checked(file, &cfg, &at);
                        break;
                    }
                    Err(e) => {
                        let field = serde_field_path(&e.path().to_string());
                        let message = e.into_inner().to_string();
                        let missing_removed = removed.iter().any(|r| {
                            message.contains(&format!("missing field `{}`", last_segment(r)))
                        });
                        if !missing_removed {
                            let (line, column) = at(&field);
                            self.errors.push(RouteError {
                                file: file.to_owned(),
                                line,
                                column,
                                route: name.clone(),
                                field: field.clone(),
                                message,
                                hint: None,
                            });
                        }
                        attempts += 1;
                        if missing_removed || attempts > 50 || !remove_field(&mut value, &field) {
                            // Still register the name, so duplicates are reported.
                            if let Some(e) =
                                name.as_deref().and_then(|n| self.check_name(file, n, &at))
                            {
                                self.errors.push(e);
                            }
                            break;
                        }
                        removed.push(field);
                    }
                }
            }
        }
        self
    }

    /// Adds a route built in code (errors are reported with file `<code>`).
    pub fn add_route(&mut self, route: &RouteConfig) -> &mut Self {
        self.add_checked("<code>", route, &|_| (0, 0));
        self
    }

    fn add_checked(&mut self, file: &str, cfg: &RouteConfig, at: &dyn Fn(&str) -> (usize, usize)) {
        let error = |p: Problem| {
            let (line, column) = at(&p.field);
            RouteError {
                file: file.to_owned(),
                line,
                column,
                route: Some(cfg.name.clone()),
                field: p.field,
                message: p.message,
                hint: p.hint,
            }
        };
        if let Some(e) = self.check_name(file, &cfg.name, at) {
            self.errors.push(e);
        }
        match build_route(cfg) {
            Ok(built) => self.routes.push((file.to_owned(), built)),
            Err(problems) => self.errors.extend(problems.into_iter().map(error)),
        }
    }

    /// Registers a route name; an error if it is already taken.
    fn check_name(
        &mut self,
        file: &str,
        name: &str,
        at: &dyn Fn(&str) -> (usize, usize),
    ) -> Option<RouteError> {
        let (line, column) = at("name");
        if let Some(first) = self.names.get(name) {
            return Some(RouteError {
                file: file.to_owned(),
                line,
                column,
                route: Some(name.to_owned()),
                field: "name".into(),
                message: format!("route name `{name}` is already used (first in {first})"),
                hint: Some("route names are unique across all route files".into()),
            });
        }
        let place = if line > 0 {
            format!("{file}:{line}")
        } else {
            file.to_owned()
        };
        self.names.insert(name.to_owned(), place);
        None
    }

    /// Compiles the table, or returns every problem found.
    pub fn build(self) -> Result<RouteTable, RouteErrors> {
        if !self.errors.is_empty() {
            return Err(RouteErrors(self.errors));
        }
        let mut table = RouteTable::default();
        for (origin, built) in self.routes {
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

/// The last segment of a field path: `a.b[2].c` → `c`.
fn last_segment(path: &str) -> &str {
    path.rsplit(['.', '[']).next().unwrap_or(path)
}

/// Removes the object member at `path` (`a.b[2].c`) from `value`; false if there is none.
fn remove_field(value: &mut Value, path: &str) -> bool {
    let Some((parent, last)) = path.rsplit_once('.').or(Some(("", path))) else {
        return false;
    };
    if last.is_empty() || last.contains('[') {
        return false;
    }
    let mut node = value;
    for seg in parent.split('.').filter(|s| !s.is_empty()) {
        let mut parts = seg.split('[');
        let key = parts.next().unwrap_or_default();
        if !key.is_empty() {
            match node.get_mut(key) {
                Some(next) => node = next,
                None => return false,
            }
        }
        for index in parts {
            match index
                .trim_end_matches(']')
                .parse::<usize>()
                .ok()
                .and_then(|i| node.get_mut(i))
            {
                Some(next) => node = next,
                None => return false,
            }
        }
    }
    node.as_object_mut()
        .is_some_and(|m| m.remove(last).is_some())
}

/// `routes[3].x` → 3.
fn route_index(path: &str) -> Option<usize> {
    let rest = path.strip_prefix("routes[")?;
    rest[..rest.find(']')?].parse().ok()
}

/// `serde_path_to_error` writes `targets[0].lambda.x`; `.` alone means the root.
fn serde_field_path(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_owned()
    }
}
