//! Audit records, written in the same transaction as the change they describe.
//!
//! Each entry stores the changed fields as a JSON object `{field: [old, new]}` whose values are
//! rendered as the reference renders them (Python `str()`: `None`, `True`, `2026-12-04
//! 19:17:22.496518`), so audit data reads the same whichever server wrote it.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Who made a change and from where.
#[derive(Clone, Debug, Default)]
pub struct AuditContext {
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub cid: Option<String>,
    pub remote_addr: Option<String>,
    pub remote_port: Option<i32>,
}

/// Audit action codes, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    Create = 0,
    Update = 1,
    Delete = 2,
    Access = 3,
}

impl AuditAction {
    pub fn name(code: i16) -> &'static str {
        match code {
            0 => "create",
            1 => "update",
            2 => "delete",
            _ => "access",
        }
    }
}

/// Audited record types, with their `django_content_type` ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    User = 1,
    Team = 2,
    Membership = 3,
    Cluster = 4,
    AllocationRequest = 5,
    AllocationReview = 6,
    ResourceAllocation = 7,
    Attachment = 8,
    Comment = 9,
    Grant = 10,
    Publication = 11,
}

/// A value as the audit log renders it.
pub trait AuditValue {
    fn audit_text(&self) -> String;
}

impl AuditValue for str {
    fn audit_text(&self) -> String {
        self.to_string()
    }
}
impl AuditValue for String {
    fn audit_text(&self) -> String {
        self.clone()
    }
}
impl AuditValue for i64 {
    fn audit_text(&self) -> String {
        self.to_string()
    }
}
impl AuditValue for bool {
    fn audit_text(&self) -> String {
        if *self { "True" } else { "False" }.to_string()
    }
}
impl AuditValue for DateTime<Utc> {
    fn audit_text(&self) -> String {
        if self.timestamp_subsec_micros() == 0 {
            self.format("%Y-%m-%d %H:%M:%S").to_string()
        } else {
            self.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
        }
    }
}
impl<T: AuditValue> AuditValue for Option<T> {
    fn audit_text(&self) -> String {
        match self {
            Some(value) => value.audit_text(),
            None => "None".to_string(),
        }
    }
}

/// The changed fields of one record, in field order.
#[derive(Clone, Debug, Default)]
pub struct Changes {
    fields: Map<String, Value>,
}

impl Changes {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a field of a new record: only non-null values are listed, as `["None", new]`.
    pub fn created<T: AuditValue + ?Sized>(&mut self, field: &str, new: &T) -> &mut Self {
        let text = new.audit_text();
        if text != "None" {
            self.push(field, "None".to_string(), text);
        }
        self
    }

    /// Records a field whose value changed; an unchanged value is skipped.
    pub fn updated<T: AuditValue + ?Sized>(&mut self, field: &str, old: &T, new: &T) -> &mut Self {
        let (old, new) = (old.audit_text(), new.audit_text());
        if old != new {
            self.push(field, old, new);
        }
        self
    }

    /// Records a field of a deleted record, as `[old, "None"]`.
    pub fn deleted<T: AuditValue + ?Sized>(&mut self, field: &str, old: &T) -> &mut Self {
        let text = old.audit_text();
        if text != "None" {
            self.push(field, text, "None".to_string());
        }
        self
    }

    /// Replaces the first half of both values of `field` with `*`, as the reference masks
    /// password hashes.
    pub fn mask(&mut self, field: &str) -> &mut Self {
        if let Some(Value::Array(pair)) = self.fields.get_mut(field) {
            for value in pair.iter_mut() {
                if let Value::String(text) = value {
                    *text = mask_text(text);
                }
            }
        }
        self
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn to_json(&self) -> String {
        Value::Object(self.fields.clone()).to_string()
    }

    fn push(&mut self, field: &str, old: String, new: String) {
        self.fields.insert(field.to_string(), Value::Array(vec![Value::String(old), Value::String(new)]));
    }
}

fn mask_text(text: &str) -> String {
    let count = text.chars().count();
    let hidden = count / 2;
    "*".repeat(hidden) + &text.chars().skip(hidden).collect::<String>()
}

/// Inserts one audit entry through `$executor` (a connection or transaction of either backend).
#[macro_export]
macro_rules! insert_audit {
    ($executor:expr, $context:expr, $content_type:expr, $object_id:expr, $repr:expr, $action:expr, $changes:expr) => {{
        let context: &$crate::audit::AuditContext = $context;
        let changes: Option<String> = $changes;
        sqlx::query(
            "INSERT INTO auditlog_logentry (content_type_id, object_pk, object_id, object_repr, action, \
             changes_text, changes, cid, remote_addr, remote_port, timestamp, actor_id, actor_email) \
             VALUES ($1, $2, $3, $4, $5, '', $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind($content_type as i64)
        .bind(($object_id as i64).to_string())
        .bind($object_id as i64)
        .bind($repr)
        .bind($action as i16)
        .bind(changes)
        .bind(context.cid.clone())
        .bind(context.remote_addr.clone())
        .bind(context.remote_port)
        .bind($crate::now())
        .bind(context.actor_id)
        .bind(context.actor_email.clone())
        .execute($executor)
        .await
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_hides_first_half() {
        assert_eq!(mask_text("None"), "**ne");
        assert_eq!(mask_text("abcde"), "**cde");
        assert_eq!(mask_text(""), "");
    }

    #[test]
    fn created_skips_nulls_and_renders_python_style() {
        let mut changes = Changes::new();
        changes.created("id", &5i64).created("email", &None::<String>).created("is_staff", &true);
        assert_eq!(changes.to_json(), r#"{"id":["None","5"],"is_staff":["None","True"]}"#);
    }

    #[test]
    fn updated_skips_unchanged_fields() {
        let mut changes = Changes::new();
        changes.updated("name", "a", "a").updated("slug", "a", "b");
        assert_eq!(changes.to_json(), r#"{"slug":["a","b"]}"#);
    }
}
