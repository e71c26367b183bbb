//! Clusters, allocation requests, reviews and resource allocations.
//!
//! Each submodule adds repository methods to [`Database`](crate::Database): look-ups, the
//! records nested in API representations (fetched in one query for a whole page), and
//! changes that write their audit entries in the same transaction.

pub mod clusters;
pub mod records;
pub mod requests;
pub mod resource_allocations;
pub mod resources;
pub mod reviews;

/// Cuts a title to the 100 characters an audit `object_repr` shows: longer titles keep 99
/// characters and end with `…`.
pub(crate) fn short_title(title: &str) -> String {
    if title.chars().count() <= 100 {
        title.to_string()
    } else {
        title.chars().take(99).collect::<String>() + "…"
    }
}

#[cfg(test)]
mod tests {
    use super::short_title;

    #[test]
    fn short_title_cuts_after_99_characters() {
        assert_eq!(short_title("abc"), "abc");
        let exact = "x".repeat(100);
        assert_eq!(short_title(&exact), exact);
        let long = "y".repeat(101);
        assert_eq!(short_title(&long), "y".repeat(99) + "…");
    }
}
