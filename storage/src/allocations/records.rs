//! Rows of the allocation tables, and the joined rows that list pages and nested
//! representations read.

use chrono::{DateTime, NaiveDate, Utc};

/// Cluster access modes: code and label.
pub const ACCESS_MODES: [(&str, &str); 3] = [("WL", "Whitelist"), ("BL", "Blacklist"), ("OP", "Open")];

/// Allocation request statuses: code and label.
pub const REQUEST_STATUSES: [(&str, &str); 4] = [("PD", "Pending"), ("AP", "Approved"), ("DC", "Declined"), ("CR", "Changes Requested")];

/// Review statuses: code and label. A review cannot be pending.
pub const REVIEW_STATUSES: [(&str, &str); 3] = [("AP", "Approved"), ("DC", "Declined"), ("CR", "Changes Requested")];

/// A row of `allocations_cluster`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Cluster {
    pub id: i64,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub access_mode: String,
}

impl Cluster {
    /// Checks whether a team may receive allocations on this cluster. An open (`OP`) cluster
    /// admits every team, a whitelist (`WL`) only listed teams and a blacklist (`BL`) only
    /// unlisted ones. `listed` is whether the team is in the cluster's `access_teams`.
    pub fn admits(&self, listed: bool) -> bool {
        match self.access_mode.as_str() {
            "WL" => listed,
            "BL" => !listed,
            _ => true,
        }
    }
}

/// A row of `allocations_allocationrequest`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AllocationRequest {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub submitted: DateTime<Utc>,
    pub active: Option<NaiveDate>,
    pub expire: Option<NaiveDate>,
    pub status: String,
    pub submitter_id: i64,
    pub team_id: i64,
}

/// An allocation request with its team's summary columns.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestWithTeam {
    #[sqlx(flatten)]
    pub request: AllocationRequest,
    pub team_slug: String,
    pub team_name: String,
    pub team_is_active: bool,
}

/// A row of `allocations_allocationreview`.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AllocationReview {
    pub id: i64,
    pub status: String,
    pub submitted: DateTime<Utc>,
    pub request_id: i64,
    pub reviewer_id: i64,
}

/// A review with the summary columns of its request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReviewWithRequest {
    #[sqlx(flatten)]
    pub review: AllocationReview,
    pub request_title: String,
    pub request_status: String,
    pub request_active: Option<NaiveDate>,
    pub request_expire: Option<NaiveDate>,
    /// The team of the request, which decides who may read the review.
    pub team_id: i64,
}

/// A row of `allocations_resourceallocation`: service units requested, awarded and finally
/// granted on one cluster for one request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ResourceAllocation {
    pub id: i64,
    pub requested: i64,
    pub awarded: Option<i64>,
    #[sqlx(rename = "final")]
    pub final_amount: Option<i64>,
    pub cluster_id: i64,
    pub request_id: i64,
}

/// A resource allocation with the summary columns of its cluster and request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AllocationWithContext {
    #[sqlx(flatten)]
    pub allocation: ResourceAllocation,
    pub cluster_name: String,
    pub cluster_enabled: bool,
    pub request_title: String,
    pub request_status: String,
    pub request_active: Option<NaiveDate>,
    pub request_expire: Option<NaiveDate>,
    /// The team of the request, which decides who may read the allocation.
    pub team_id: i64,
}

/// A grant linked to an allocation request, with every plain grant column.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestGrant {
    pub request_id: i64,
    pub id: i64,
    pub title: String,
    pub agency: String,
    pub pi: Option<String>,
    pub amount_cents: i64,
    pub grant_number: Option<String>,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub description: Option<String>,
    pub team_id: i64,
}

/// A publication linked to an allocation request, with every plain publication column.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestPublication {
    pub request_id: i64,
    pub id: i64,
    pub title: String,
    #[sqlx(rename = "abstract")]
    pub abstract_text: Option<String>,
    pub published: Option<NaiveDate>,
    pub submitted: Option<NaiveDate>,
    pub journal: Option<String>,
    pub doi: Option<String>,
    pub volume: Option<String>,
    pub issue: Option<String>,
    pub team_id: i64,
}

/// A resource allocation of a request with its cluster's summary columns.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestAllocation {
    pub request_id: i64,
    pub id: i64,
    pub cluster_id: i64,
    pub requested: i64,
    pub awarded: Option<i64>,
    #[sqlx(rename = "final")]
    pub final_amount: Option<i64>,
    pub cluster_name: String,
    pub cluster_enabled: bool,
}

/// The file path and display name of an attachment of a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestAttachment {
    pub request_id: i64,
    pub file: String,
    pub name: String,
}

/// A comment on a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RequestComment {
    pub request_id: i64,
    pub id: i64,
    pub user_id: i64,
    pub content: String,
    pub created: DateTime<Utc>,
    pub private: bool,
}

#[cfg(test)]
mod tests {
    use super::Cluster;

    fn cluster(mode: &str) -> Cluster {
        Cluster { id: 1, name: "c".into(), description: None, enabled: true, access_mode: mode.into() }
    }

    #[test]
    fn access_modes_admit_teams() {
        assert!(cluster("OP").admits(false));
        assert!(cluster("OP").admits(true));
        assert!(cluster("WL").admits(true));
        assert!(!cluster("WL").admits(false));
        assert!(!cluster("BL").admits(true));
        assert!(cluster("BL").admits(false));
    }
}
