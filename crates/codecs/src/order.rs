//! The orders CVAT puts task files in (`sorting_method`), and which files a
//! `filename_pattern` keeps.

/// Python's `fnmatch` (case-sensitive, as on Linux): `*` any run of characters (`/`
/// included), `?` one character, `[abc]`/`[a-z]`/`[!abc]` one of (not of) a set.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some('?') => {
                p += 1;
                n += 1;
                continue;
            }
            Some('[') => {
                if let Some((matched, next)) = class_match(&pattern, p, name[n]) {
                    if matched {
                        p = next;
                        n += 1;
                        continue;
                    }
                } else if name[n] == '[' {
                    p += 1;
                    n += 1;
                    continue;
                }
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((star_p, star_n)) => {
                p = star_p + 1;
                n = star_n + 1;
                star = Some((star_p, star_n + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Whether `c` is in the set starting at `pattern[start] == '['`, and where the set ends;
/// `None` when the bracket is not closed (then it is a literal `[`).
fn class_match(pattern: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negated = matches!(pattern.get(i), Some('!'));
    if negated {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    while let Some(&item) = pattern.get(i) {
        if item == ']' && !first {
            return Some((found != negated, i + 1));
        }
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            found |= (item..=pattern[i + 2]).contains(&c);
            i += 3;
        } else {
            found |= item == c;
            i += 1;
        }
        first = false;
    }
    None
}

fn natural_key(name: &str) -> Vec<(u8, String, u128)> {
    let mut parts = Vec::new();
    let mut chars = name.chars().peekable();
    while let Some(&c) = chars.peek() {
        let digits = c.is_ascii_digit();
        let mut run = String::new();
        while let Some(&d) = chars.peek() {
            if d.is_ascii_digit() != digits {
                break;
            }
            run.push(d);
            chars.next();
        }
        if digits {
            parts.push((0, String::new(), run.parse().unwrap_or(u128::MAX)));
        } else {
            parts.push((1, run.to_lowercase(), 0));
        }
    }
    parts
}

/// A shuffle that gives the same order for the same seed (a redelivered job must see
/// the frames the first delivery saw).
fn seeded_shuffle(names: &mut [String], seed: &str) {
    let mut state = seed.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    for i in (1..names.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        names.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

/// Orders the uploaded files as `sorting_method` says.
pub fn sort_files(
    mut names: Vec<String>,
    method: &str,
    upload_order: &[String],
    seed: &str,
) -> Result<Vec<String>, String> {
    match method {
        "natural" => names.sort_by_key(|n| natural_key(n)),
        "random" => {
            names.sort();
            seeded_shuffle(&mut names, seed);
        }
        "predefined" if !upload_order.is_empty() => {
            let mut missing: Vec<&String> = upload_order.iter().filter(|n| !names.contains(n)).collect();
            let mut extra: Vec<&String> = names.iter().filter(|n| !upload_order.contains(n)).collect();
            if !missing.is_empty() || !extra.is_empty() {
                missing.sort();
                extra.sort();
                return Err(format!(
                    "upload_file_order does not match the uploaded files: (extra) {extra:?}, (missing) {missing:?}"
                ));
            }
            names = upload_order.to_vec();
        }
        // Without an order, predefined is the order of arrival (kept by the caller).
        "predefined" => {}
        _ => names.sort(),
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_fnmatch() {
        for (pattern, name, expected) in [
            ("*.jpg", "a/b.jpg", true),
            ("*.jpg", "a.png", false),
            ("img_??.png", "img_01.png", true),
            ("img_??.png", "img_1.png", false),
            ("[ab]*", "b.png", true),
            ("[!ab]*", "b.png", false),
            ("frame_[0-4].png", "frame_3.png", true),
            ("frame_[0-4].png", "frame_7.png", false),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("[x", "[x", true),
            ("set/*", "set/a.png", true),
            ("[]a]", "]", true),
            ("[z-a]", "m", false),
            ("[", "[", true),
            ("[!]", "x", false),
        ] {
            assert_eq!(glob_match(pattern, name), expected, "{pattern} {name}");
        }
        // Odd patterns never panic or hang.
        for pattern in ["[", "[]", "[!", "[a-", "**", "*[", "?*?", "[-]", "\\"] {
            for name in ["", "a", "[", "]", "a-b", "ééé"] {
                glob_match(pattern, name);
            }
        }
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn sorting_methods() {
        let files = names(&["img10.png", "img2.png", "Img1.png"]);
        assert_eq!(
            sort_files(files.clone(), "lexicographical", &[], "").unwrap(),
            names(&["Img1.png", "img10.png", "img2.png"])
        );
        assert_eq!(
            sort_files(files.clone(), "natural", &[], "").unwrap(),
            names(&["Img1.png", "img2.png", "img10.png"])
        );
        let order = names(&["img2.png", "Img1.png", "img10.png"]);
        assert_eq!(sort_files(files.clone(), "predefined", &order, "").unwrap(), order);
        assert!(sort_files(files.clone(), "predefined", &names(&["img2.png"]), "").is_err());
        let random = sort_files(files.clone(), "random", &[], "seed").unwrap();
        assert_eq!(random, sort_files(files, "random", &[], "seed").unwrap(), "reproducible per request");
    }
}
