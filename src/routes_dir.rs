//! Reading a directory of route files (`*.yaml`, `*.yml`, `*.json`) into a route table.

use std::path::{Path, PathBuf};

use fanout_router::{RouteErrors, RouteTable};

/// Why a routes directory could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RoutesDirError {
    /// The directory or a file in it could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The directory holds no route file.
    #[error("no route files (*.yaml, *.yml, *.json) in {0}")]
    Empty(PathBuf),
    /// The route files have problems (all of them are listed).
    #[error("{0}")]
    Invalid(RouteErrors),
}

/// The route files of `dir`, sorted by name.
pub fn route_files(dir: &Path) -> Result<Vec<PathBuf>, RoutesDirError> {
    let io = |source| RoutesDirError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let is_route_file = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"));
        if is_route_file && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(RoutesDirError::Empty(dir.to_owned()));
    }
    Ok(files)
}

/// Loads and compiles every route file of `dir`; every problem of every file is reported.
pub fn load_routes_dir(dir: &Path) -> Result<RouteTable, RoutesDirError> {
    let mut builder = RouteTable::builder();
    for path in route_files(dir)? {
        let text = std::fs::read_to_string(&path).map_err(|source| RoutesDirError::Io {
            path: path.clone(),
            source,
        })?;
        builder.add_file(&path.display().to_string(), &text);
    }
    builder.build().map_err(RoutesDirError::Invalid)
}
