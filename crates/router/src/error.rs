//! Route loading errors: every problem, each with file, line, column, route and field.

use std::fmt;

/// One problem in the route files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteError {
    /// The file (as named by the caller), or `<code>` for routes built in code.
    pub file: String,
    /// 1-based line (0 when unknown, e.g. routes built in code).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// The route's name, when known.
    pub route: Option<String>,
    /// The field path within the route (e.g. `targets[0].function`), empty for the file.
    pub field: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it, when there is something more to say.
    pub hint: Option<String>,
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        write!(f, ":")?;
        if let Some(route) = &self.route {
            write!(f, " route `{route}`")?;
        }
        if !self.field.is_empty() {
            write!(f, " field `{}`", self.field)?;
        }
        if self.route.is_some() || !self.field.is_empty() {
            write!(f, ":")?;
        }
        write!(f, " {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found while building a route table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RouteErrors(pub Vec<RouteError>);

impl fmt::Display for RouteErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
