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
