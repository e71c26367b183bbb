//! JSON representations of records, in the reference's field order.

mod time;
mod users;

pub use time::{format_date, format_datetime};
pub use users::{history_json, user_json, user_summary, UserContext};
