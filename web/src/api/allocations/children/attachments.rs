//! `/allocations/attachments/`, `/allocations/attachments/{id}/` and
//! `/allocations/attachments/{id}/download/`.
//!
//! Team owners and admins upload files to their team's requests as multipart bodies with a
//! `file` part. Members read them, and only staff replace or delete them. Uploads are checked for
//! size (`CONFIG_UPLOAD_SIZE`), type (guessed from the file name) and the number of
//! attachments a request may have (`CONFIG_UPLOAD_COUNT`), then stored in the file store under
//! `CONFIG_UPLOAD_DIR/allocations/`. The download route is an addition: the reference leaves
//! serving files to its reverse proxy.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::attachments::file_types::{check_file_type, guess_mime_type};
use keystone_storage::attachments::{client_base_name, storage_name, Attachment, AttachmentChange, FileStore, ATTACHMENTS};
use keystone_storage::audit::ContentType;
use keystone_storage::comments::ParentRequest;
use keystone_storage::StorageError;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use super::{is_member, role_for_body_request};
use crate::api::fields::{does_not_exist, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::{Body, Reply, UploadedFile};
use crate::json::{format_datetime, history_json, request_summary};
use crate::router::Context;

const MODEL: &str = "Attachment";
const NO_FILE: &str = "No file was submitted.";
const NOT_A_FILE: &str = "The submitted data was not a file. Check the encoding type on the form.";
const EMPTY_FILE: &str = "The submitted file is empty.";
/// The longest `name`, in characters.
const MAX_NAME_LENGTH: usize = 250;

/// View-level rule of the list route: a non-staff upload needs a body `request` of a team the
/// caller owns or administers.
pub fn create_permission<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if context.request.method != Method::POST || context.is_staff() {
            return Ok(());
        }
        match role_for_body_request(context).await?.as_deref() {
            Some("OW" | "AD") => Ok(()),
            _ => Err(ApiError::PermissionDenied),
        }
    })
}

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_attachments(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let attachment = find(context).await?;
        check_read_access(context, &attachment).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, attachment, StatusCode::OK).await,
            Method::PUT => update(context, attachment, Mode::Full).await,
            Method::PATCH => update(context, attachment, Mode::Partial).await,
            Method::DELETE => destroy(context, attachment).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Returns the file with a `Content-Type` guessed from its stored name and a
/// `Content-Disposition` that makes browsers save it under the attachment's `name`.
pub fn download<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let attachment = find(context).await?;
        check_read_access(context, &attachment).await?;
        let data = match file_store(context).read(&attachment.file).await {
            Ok(data) => data,
            Err(StorageError::NotFound) => {
                tracing::warn!(attachment_id = attachment.id, file = %attachment.file, "attachment file is missing from the upload folder");
                return Err(ApiError::NotFound(MODEL));
            }
            Err(error) => return Err(error.into()),
        };
        let content_type = guess_mime_type(&attachment.file)
            .or_else(|| guess_mime_type(&attachment.name))
            .unwrap_or_else(|| "application/octet-stream".to_string());
        let mut reply = Reply::text(StatusCode::OK, &content_type, data);
        reply.set_header("Content-Disposition", &content_disposition(&attachment.name));
        Ok(reply)
    })
}

fn file_store(context: &Context<'_>) -> FileStore {
    FileStore::new(&context.state.settings().files.upload_dir)
}

/// Non-staff see the attachments of their teams' requests.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!("EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = ar.team_id AND sm.user_id = {})", params.bind(caller))
    })))
}

async fn list_attachments(context: &Context<'_>) -> Result<Reply, ApiError> {
    let query = compile(context, &ATTACHMENTS, list_scope(context)?).await?;
    let (count, ids) = page_ids(context, &ATTACHMENTS, &query).await?;
    let attachments = in_page_order(&ids, context.state.db.attachments_by_ids(&ids).await?, |attachment| attachment.id);
    let results = attachments_json(context, &attachments).await?;
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's attachment within the query filters. Every attachment is in
/// scope here: other teams' attachments are 403, not 404.
async fn find(context: &Context<'_>) -> Result<Attachment, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &ATTACHMENTS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.attachment_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

/// Object-level rule: staff, or a member of the request's team for reading. Writes are checked
/// by the handlers: staff only.
async fn check_read_access(context: &Context<'_>, attachment: &Attachment) -> Result<(), ApiError> {
    if context.is_staff() {
        return Ok(());
    }
    let request = context.state.db.parent_request(attachment.request_id).await?.ok_or(ApiError::NotFound(MODEL))?;
    let may_read = matches!(context.request.method, Method::GET | Method::HEAD) && is_member(context, request.team_id).await?;
    if may_read {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}

/// A validated upload.
struct Upload<'b> {
    file: &'b UploadedFile,
    /// The client's file name without directories and control characters.
    base_name: String,
}

/// Validated attachment fields: `None` where the body left a field out.
struct Input<'b> {
    upload: Option<Upload<'b>>,
    name: Option<String>,
    request: Option<i64>,
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let input = read_input(context, &body, Mode::Full).await?;
    let (Some(upload), Some(request_id)) = (input.upload, input.request) else {
        return Err(ApiError::Internal("validated attachment input is incomplete".to_string()));
    };
    let name = input.name.unwrap_or_else(|| default_name(&upload.base_name));
    let settings = &context.state.settings().files;
    let staged = file_store(context).stage(&upload.file.data).await?;
    let stored_name = storage_name(&upload.base_name);
    let created =
        context.state.db.create_attachment(&name, request_id, staged, &stored_name, settings.upload_count, &context.audit()).await?;
    let Some(attachment) = created else {
        return Err(count_limit_error(settings.upload_count));
    };
    tracing::info!(attachment_id = attachment.id, request_id, file = %attachment.file, cid = %context.request.cid, "stored an attachment");
    render(context, attachment, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: Attachment, mode: Mode) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    let body = context.request.parse_body().await?;
    let input = read_input(context, &body, mode).await?;
    let settings = &context.state.settings().files;
    let store = file_store(context);
    let mut staged = match &input.upload {
        Some(upload) => Some((store.stage(&upload.file.data).await?, storage_name(&upload.base_name))),
        None => None,
    };
    let change = AttachmentChange {
        name: input.name.unwrap_or_else(|| current.name.clone()),
        request_id: input.request.unwrap_or(current.request_id),
        file: staged.as_mut().map(|(staged, stored_name)| (staged, stored_name.clone())),
    };
    let updated = context.state.db.update_attachment(&current, change, settings.upload_count, &store, &context.audit()).await?;
    let Some(attachment) = updated else {
        return Err(count_limit_error(settings.upload_count));
    };
    render(context, attachment, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, attachment: Attachment) -> Result<Reply, ApiError> {
    if !context.is_staff() {
        return Err(ApiError::PermissionDenied);
    }
    context.state.db.delete_attachment(&attachment, &file_store(context), &context.audit()).await?;
    tracing::info!(attachment_id = attachment.id, file = %attachment.file, cid = %context.request.cid, "deleted an attachment");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Validates the body in serializer field order: `file`, `name`, `request`.
async fn read_input<'b>(context: &Context<'_>, body: &'b Body, mode: Mode) -> Result<Input<'b>, ApiError> {
    let data = body.object()?;
    let mut form = Form::new(data, mode);
    let upload = read_upload(context, &mut form, body, mode);
    let name = form.required_text("name", TextRules { required: false, ..TextRules::required(MAX_NAME_LENGTH) });
    let request = form.primary_key("request", true);
    if let Some(request_id) = request {
        if context.state.db.parent_request(request_id).await?.is_none() {
            form.error("request", does_not_exist(request_id));
        }
    }
    form.finish()?;
    Ok(Input { upload, name, request })
}

/// Reads the `file` part and checks its size and type, collecting every message for it.
fn read_upload<'b>(context: &Context<'_>, form: &mut Form<'_>, body: &'b Body, mode: Mode) -> Option<Upload<'b>> {
    // A file part whose name has nothing usable left counts as no file, as Django's upload
    // parser drops it.
    let part = body.files.iter().find(|file| file.field == "file");
    let Some((file, base_name)) = part.and_then(|file| client_base_name(&file.filename).map(|name| (file, name))) else {
        if form.has("file") {
            form.error("file", NOT_A_FILE);
        } else if mode == Mode::Full {
            form.error("file", NO_FILE);
        }
        return None;
    };
    if file.data.is_empty() {
        form.error("file", EMPTY_FILE);
        return None;
    }
    let limit = context.state.settings().files.upload_size;
    let mut valid = true;
    if file.data.len() as u64 > limit {
        form.error("file", size_message(limit));
        valid = false;
    }
    if let Err(message) = check_file_type(&base_name) {
        form.error("file", message);
        valid = false;
    }
    valid.then_some(Upload { file, base_name })
}

/// `File size should not exceed 2.50 MB.`, with the limit in MiB to two places.
fn size_message(limit: u64) -> String {
    format!("File size should not exceed {:.2} MB.", limit as f64 / 1_048_576.0)
}

fn count_limit_error(limit: u64) -> ApiError {
    ApiError::field("file", format!("An allocation request may have at most {limit} attachments."))
}

/// Returns the name an attachment gets when the body has none: the uploaded file's name.
fn default_name(base_name: &str) -> String {
    base_name.chars().take(MAX_NAME_LENGTH).collect()
}

/// `attachment; filename="<name>"`. Characters that cannot appear in the quoted ASCII form
/// are replaced with `_` there, and a name with non-ASCII characters also gets the exact name
/// as an RFC 6266 `filename*` parameter.
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(
            |character| {
                if (character.is_ascii_graphic() && character != '"' && character != '\\') || character == ' ' {
                    character
                } else {
                    '_'
                }
            },
        )
        .collect();
    if name.is_ascii() && !name.chars().any(|character| character.is_ascii_control()) {
        return format!("attachment; filename=\"{fallback}\"");
    }
    let encoded: String = name
        .chars()
        .filter(|character| !character.is_control())
        .collect::<String>()
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

async fn render(context: &Context<'_>, attachment: Attachment, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = attachments_json(context, &[attachment]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Attachment representations for a page: requests, history and history actors are fetched
/// once for all attachments (three queries).
async fn attachments_json(context: &Context<'_>, attachments: &[Attachment]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = attachments.iter().map(|attachment| attachment.id).collect();
    let mut request_ids: Vec<i64> = attachments.iter().map(|attachment| attachment.request_id).collect();
    request_ids.sort_unstable();
    request_ids.dedup();
    let requests: HashMap<i64, ParentRequest> =
        db.parent_requests(&request_ids).await?.into_iter().map(|request| (request.id, request)).collect();
    let (history, actors) = history_of(db, ContentType::Attachment, &ids).await?;
    Ok(attachments
        .iter()
        .map(|attachment| {
            let request = requests
                .get(&attachment.request_id)
                .map(|request| request_summary(request.id, &request.title, &request.status, request.active, request.expire));
            let mut object = Map::new();
            object.insert("id".into(), json!(attachment.id));
            object.insert("file".into(), json!(attachment.file));
            object.insert("name".into(), json!(attachment.name));
            object.insert("_request".into(), request.unwrap_or(Value::Null));
            object.insert("_history".into(), history_json(history.get(&attachment.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("uploaded".into(), json!(format_datetime(&attachment.uploaded)));
            object.insert("request".into(), json!(attachment.request_id));
            Value::Object(object)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_message_in_mebibytes() {
        assert_eq!(size_message(2_621_440), "File size should not exceed 2.50 MB.");
        assert_eq!(size_message(1_048_576), "File size should not exceed 1.00 MB.");
        assert_eq!(size_message(100), "File size should not exceed 0.00 MB.");
    }

    #[test]
    fn content_disposition_is_a_safe_header() {
        assert_eq!(content_disposition("report v2.pdf"), "attachment; filename=\"report v2.pdf\"");
        assert_eq!(content_disposition("a\"b\\c.txt"), "attachment; filename=\"a_b_c.txt\"");
        assert_eq!(content_disposition("Überblick.pdf"), "attachment; filename=\"_berblick.pdf\"; filename*=UTF-8''%C3%9Cberblick.pdf");
        assert_eq!(content_disposition("line\nbreak.txt"), "attachment; filename=\"line_break.txt\"; filename*=UTF-8''linebreak.txt");
    }
}
