//! Short forms of records nested in other representations.

use serde_json::{json, Value};

/// `{id, slug, name, is_active}` of a team.
pub fn team_summary(id: i64, slug: &str, name: &str, is_active: bool) -> Value {
    json!({"id": id, "slug": slug, "name": name, "is_active": is_active})
}

/// `{id, name, enabled}` of a cluster.
pub fn cluster_summary(id: i64, name: &str, enabled: bool) -> Value {
    json!({"id": id, "name": name, "enabled": enabled})
}

/// `{id, title, status, active, expire}` of an allocation request; dates as `YYYY-MM-DD`.
pub fn request_summary(id: i64, title: &str, status: &str, active: Option<chrono::NaiveDate>, expire: Option<chrono::NaiveDate>) -> Value {
    json!({
        "id": id,
        "title": title,
        "status": status,
        "active": active.as_ref().map(crate::json::format_date),
        "expire": expire.as_ref().map(crate::json::format_date),
    })
}

/// Renders cents as a decimal string with exactly two places, as the reference renders
/// `DecimalField` values: `123456` → `"1234.56"`.
pub fn cents_to_decimal(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let magnitude = cents.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_render_with_two_places() {
        assert_eq!(cents_to_decimal(0), "0.00");
        assert_eq!(cents_to_decimal(5), "0.05");
        assert_eq!(cents_to_decimal(100_000), "1000.00");
        assert_eq!(cents_to_decimal(-150), "-1.50");
        assert_eq!(cents_to_decimal(99_999_999_999_999), "999999999999.99");
    }
}

/// `{id, slug, name, is_active}` of a team, serialised without building a `Value`.
#[derive(serde::Serialize)]
pub struct TeamSummaryView<'a> {
    pub id: i64,
    pub slug: &'a str,
    pub name: &'a str,
    pub is_active: bool,
}

/// `{id, name, enabled}` of a cluster, serialised without building a `Value`.
#[derive(serde::Serialize)]
pub struct ClusterSummaryView<'a> {
    pub id: i64,
    pub name: &'a str,
    pub enabled: bool,
}
