//! Reading one route file into the builder's routes, route by route.
//!
//! The file's `routes:` items come from [`read_routes`] one at a time and are checked and
//! compiled as they come, so that a file is never held whole as a JSON value (a small object is
//! a few hundred bytes as a `serde_json::Map`). What the file as a whole decides (a syntax
//! error, a top level that is not `routes:`) is only known at its end: the routes it added are
//! then taken back, and the errors are reported in the same order as if the file had been read
//! first and its routes checked after.

use std::collections::HashMap;

use serde_json::Value;

use super::{BuiltRoute, Problem, build_route};
use crate::config::{RouteConfig, RouteFileConfig, RouteSource, read_routes};
use crate::error::RouteError;

/// The routes added so far and where each name was first used.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    /// Compiled routes with the file they came from.
    pub routes: Vec<(String, BuiltRoute)>,
    /// Route name → `file:line` of its first use.
    names: HashMap<String, String>,
}

impl Registry {
    /// Checks and compiles a route; its problems go to `errors`.
    pub fn add_checked(
        &mut self,
        errors: &mut Vec<RouteError>,
        file: &str,
        cfg: &RouteConfig,
        at: &dyn Fn(&str) -> (usize, usize),
    ) {
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
        errors.extend(self.check_name(file, &cfg.name, at));
        match build_route(cfg) {
            Ok(built) => self.routes.push((file.to_owned(), built)),
            Err(problems) => errors.extend(problems.into_iter().map(error)),
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
}

/// Reads the routes of one file into `registry`; every problem goes to `errors`.
pub(crate) fn add_file(
    registry: &mut Registry,
    errors: &mut Vec<RouteError>,
    env: &dyn Fn(&str) -> Option<String>,
    file: &str,
    text: &str,
) {
    let mut reading = FileRead {
        file,
        first_route: registry.routes.len(),
        claimed: Vec::new(),
        errors: Vec::new(),
        unreadable: HashMap::new(),
        seen: 0,
    };
    let read = read_routes(text, env, &mut |route| reading.route(registry, route));
    let source = match read {
        Ok(source) => source,
        Err(e) => {
            reading.take_back(registry);
            errors.push(RouteError {
                file: file.to_owned(),
                line: e.line,
                column: e.column,
                route: None,
                field: e.path,
                message: e.message,
                hint: None,
            });
            return;
        }
    };
    // Routes with a bad `${ENV}` reference or a duplicate key are reported once, here, and
    // not checked further (their values are not what the user meant).
    for e in &source.errors {
        let index = route_index(&e.path);
        let route = index
            .and_then(|i| reading.unreadable.get(&i).cloned())
            .flatten();
        let field = match index {
            Some(i) => e.path[format!("routes[{i}]").len()..]
                .trim_start_matches('.')
                .to_owned(),
            None => e.path.clone(),
        };
        errors.push(RouteError {
            file: file.to_owned(),
            line: e.line,
            column: e.column,
            route,
            field,
            message: e.message.clone(),
            hint: None,
        });
    }
    let (line, column) = source.position("");
    // The routes were taken out of the document as they were read; what is left is checked as
    // a file (one key, `routes:`, holding a list).
    if let Err(e) = serde_json::from_value::<RouteFileConfig>(source.value) {
        reading.take_back(registry);
        errors.push(RouteError {
            file: file.to_owned(),
            line,
            column,
            route: None,
            field: String::new(),
            message: e.to_string(),
            hint: Some(
                "a route file is a mapping with one key, `routes:`, holding a list of routes"
                    .into(),
            ),
        });
        return;
    }
    errors.append(&mut reading.errors);
}

/// What reading one file has done so far, to report it in order or take it back.
struct FileRead<'f> {
    file: &'f str,
    /// How many routes the registry held before this file.
    first_route: usize,
    /// Names this file registered.
    claimed: Vec<String>,
    /// Problems of its routes, reported after the file's own.
    errors: Vec<RouteError>,
    /// Routes not checked because reading them found a problem, with their names.
    unreadable: HashMap<usize, Option<String>>,
    /// Routes handed over so far.
    seen: usize,
}

impl FileRead<'_> {
    /// Forgets the routes, names and problems this file added.
    fn take_back(&mut self, registry: &mut Registry) {
        registry.routes.truncate(self.first_route);
        for name in self.claimed.drain(..) {
            registry.names.remove(&name);
        }
        self.errors.clear();
        self.unreadable.clear();
    }

    /// Checks and compiles one route of the file.
    fn route(&mut self, registry: &mut Registry, route: RouteSource<'_>) {
        if route.index == 0 && self.seen > 0 {
            // A second `routes:` key: the document keeps its list, not the first one.
            self.take_back(registry);
        }
        self.seen += 1;
        let i = route.index;
        let prefix = format!("routes[{i}]");
        let name = route
            .value
            .get("name")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let at = |field: &str| {
            if field.is_empty() {
                route.position(&prefix)
            } else {
                route.position(&format!("{prefix}.{field}"))
            }
        };
        let before = registry.names.len();
        if route.errors.iter().any(|e| route_index(&e.path) == Some(i)) {
            self.unreadable.insert(i, name.clone());
            // Still claim the name, so that a duplicate is reported too.
            if let Some(n) = name.as_deref() {
                self.errors.extend(registry.check_name(self.file, n, &at));
            }
        } else {
            self.check(registry, &route.value, name.as_deref(), &at);
        }
        if registry.names.len() > before
            && let Some(n) = name
        {
            self.claimed.push(n);
        }
    }

    /// Reads a route's configuration and checks it. Every field error is reported, not only
    /// serde's first: the offending field is dropped and the route read again, until it reads
    /// or a required field is missing.
    fn check(
        &mut self,
        registry: &mut Registry,
        value: &Value,
        name: Option<&str>,
        at: &dyn Fn(&str) -> (usize, usize),
    ) {
        // A copy to drop fields from, made at the first error.
        let mut edited: Option<Value> = None;
        let mut removed: Vec<String> = Vec::new();
        let mut attempts = 0;
        loop {
            let read = serde_path_to_error::deserialize::<_, RouteConfig>(
                edited.as_ref().unwrap_or(value),
            );
            match read {
                Ok(cfg) => {
                    // With fields removed, the errors above already fail the build; the checks
                    // still run so that their problems are reported too.
                    registry.add_checked(&mut self.errors, self.file, &cfg, at);
                    return;
                }
                Err(e) => {
                    let field = serde_field_path(&e.path().to_string());
                    let message = e.into_inner().to_string();
                    let missing_removed = removed
                        .iter()
                        .any(|r| message.contains(&format!("missing field `{}`", last_segment(r))));
                    if !missing_removed {
                        let (line, column) = at(&field);
                        self.errors.push(RouteError {
                            file: self.file.to_owned(),
                            line,
                            column,
                            route: name.map(str::to_owned),
                            field: field.clone(),
                            message,
                            hint: None,
                        });
                    }
                    attempts += 1;
                    let edited = edited.get_or_insert_with(|| value.clone());
                    if missing_removed || attempts > 50 || !remove_field(edited, &field) {
                        // Still register the name, so duplicates are reported.
                        if let Some(n) = name {
                            self.errors.extend(registry.check_name(self.file, n, at));
                        }
                        return;
                    }
                    removed.push(field);
                }
            }
        }
    }
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
