//! Euro amounts from cents, written with integer arithmetic only: `plain` for data
//! files (`1234567.89`, a dot and two decimals, no grouping) and `italian` for people
//! (`1.234.567,89 €`).

/// `cents` as euro with a dot and two decimals: `123456789` → `1234567.89`.
pub fn plain(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// `cents` as Italian readers write euro: `123456789` → `1.234.567,89 €`.
pub fn italian(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3);
    for (i, c) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped},{:02} €", abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_from_cents() {
        assert_eq!(plain(0), "0.00");
        assert_eq!(plain(5), "0.05");
        assert_eq!(plain(123_456_789), "1234567.89");
        assert_eq!(plain(-1_50), "-1.50");
        assert_eq!(plain(i64::MAX), "92233720368547758.07");
        assert_eq!(plain(i64::MIN), "-92233720368547758.08");
        assert_eq!(italian(123_456_789), "1.234.567,89 €");
        assert_eq!(italian(99_900), "999,00 €");
        assert_eq!(italian(100_000), "1.000,00 €");
        assert_eq!(italian(-100_000_001), "-1.000.000,01 €");
    }
}
