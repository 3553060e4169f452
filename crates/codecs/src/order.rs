//! The orders CVAT puts task files in (`sorting_method`).

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
