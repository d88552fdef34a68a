//! JSON paths used in problem reports, like `$.value.amount[0].numeric[1]`.

/// The path of the whole pattern.
pub(crate) const ROOT: &str = "$";

/// Appends an object member: `.name` for plain identifiers, `['name']`
/// otherwise (with `\` and `'` escaped).
pub(crate) fn member(parent: &str, name: &str) -> String {
    let mut out = String::with_capacity(parent.len() + name.len() + 4);
    out.push_str(parent);
    if is_identifier(name) {
        out.push('.');
        out.push_str(name);
    } else {
        out.push_str("['");
        for c in name.chars() {
            if c == '\'' || c == '\\' {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("']");
    }
    out
}

/// Appends an array index: `[i]`.
pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Most member paths one field path may spell (see [`spellings`]).
pub(crate) const MAX_SPELLINGS: usize = 256;

/// Every member path whose names, joined with dots, spell the same as `keys` joined with dots,
/// for keys that have dots (`["a.b"]` → `["a.b"]`, `["a", "b"]`): the paths where aws/event-ruler
/// would find the field. `None` when there are more than [`MAX_SPELLINGS`].
pub(crate) fn spellings(keys: &[String]) -> Option<Vec<Vec<String>>> {
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    for key in keys {
        let parts = splits(key);
        if paths.len().saturating_mul(parts.len()) > MAX_SPELLINGS {
            return None;
        }
        paths = paths
            .iter()
            .flat_map(|path| {
                parts.iter().map(move |part| {
                    let mut path = path.clone();
                    path.extend(part.iter().cloned());
                    path
                })
            })
            .collect();
    }
    Some(paths)
}

/// Every way to cut `name` at some of its dots: `a.b` → `[a.b]`, `[a, b]`.
fn splits(name: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Cut at the first dot or not: the first piece ends at some dot, or is the whole name.
    for (end, _) in name.match_indices('.') {
        for mut rest in splits(&name[end + 1..]) {
            rest.insert(0, name[..end].to_owned());
            out.push(rest);
        }
    }
    out.push(vec![name.to_owned()]);
    out
}
