//! JSON representations of records, in the reference's field order.

mod summaries;
mod time;
mod users;

pub use summaries::{cents_to_decimal, cluster_summary, request_summary, team_summary, ClusterSummaryView, TeamSummaryView};
pub use time::{format_date, format_datetime};
pub use users::{history_json, user_json, user_summary, UserContext, UserSummaryView};
