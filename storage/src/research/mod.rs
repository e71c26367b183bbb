//! Grants and publications: research products that teams record and cite in their
//! allocation requests.

pub mod grants;
pub mod publications;
pub mod resources;

use chrono::NaiveDate;

pub use grants::{Grant, GrantFields};
pub use publications::{Publication, PublicationFields};
pub use resources::{GRANTS, PUBLICATIONS};

/// Cuts a title to the 100 characters an audit `object_repr` shows: longer titles keep 99
/// characters and end with `…`.
fn short_title(title: &str) -> String {
    if title.chars().count() <= 100 {
        title.to_string()
    } else {
        title.chars().take(99).collect::<String>() + "…"
    }
}

/// Formats a date as the audit log renders it (Python `str()` of a date), or `None`.
fn date_text(date: Option<NaiveDate>) -> Option<String> {
    date.map(|date| date.format("%Y-%m-%d").to_string())
}

/// Formats an amount in cents as the audit log renders a two-place decimal: `123456` is
/// `1234.56`.
fn cents_text(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_title_cuts_after_99_characters() {
        assert_eq!(short_title("abc"), "abc");
        let exact = "x".repeat(100);
        assert_eq!(short_title(&exact), exact);
        let long = "y".repeat(101);
        assert_eq!(short_title(&long), format!("{}…", "y".repeat(99)));
    }

    #[test]
    fn cents_render_with_two_places() {
        assert_eq!(cents_text(10), "0.10");
        assert_eq!(cents_text(-5), "-0.05");
        assert_eq!(cents_text(99_999_999_999_999), "999999999999.99");
    }
}
