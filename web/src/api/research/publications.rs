//! `/research/publications/` and `/research/publications/{id}/`.
//!
//! A DOI is unique among publications; an empty DOI counts as a value, a null one does not.

use std::collections::HashMap;

use futures::future::BoxFuture;
use keystone_storage::audit::ContentType;
use keystone_storage::records::Team;
use keystone_storage::research::{Publication, PublicationFields, PUBLICATIONS};
use keystone_storage::StorageError;
use serde_json::{json, Map, Value};
use warp::http::{Method, StatusCode};

use super::{check_record_access, is_form_body, read_date};
use crate::api::fields::{does_not_exist, Form, Mode, TextRules};
use crate::api::listing::{compile, envelope, in_page_order, is_visible, page_ids, Scope};
use crate::api::loaders::history_of;
use crate::error::ApiError;
use crate::http::Reply;
use crate::json::{format_date, history_json, team_summary};
use crate::router::Context;

const MODEL: &str = "Publication";
const DOI_TAKEN: &str = "publication with this doi already exists.";

pub fn list<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        match context.request.method {
            Method::POST => create(context).await,
            _ => list_publications(context).await,
        }
    })
}

pub fn detail<'a>(context: &'a Context<'a>) -> BoxFuture<'a, Result<Reply, ApiError>> {
    Box::pin(async move {
        let publication = find(context).await?;
        check_record_access(context, publication.team_id).await?;
        match context.request.method {
            Method::GET | Method::HEAD => render(context, publication, StatusCode::OK).await,
            Method::PUT => update(context, publication, Mode::Full).await,
            Method::PATCH => update(context, publication, Mode::Partial).await,
            Method::DELETE => destroy(context, publication).await,
            _ => Err(ApiError::MethodNotAllowed(context.request.method.to_string())),
        }
    })
}

/// Non-staff see the publications of teams they belong to.
fn list_scope(context: &Context<'_>) -> Result<Option<Scope<'static>>, ApiError> {
    if context.is_staff() {
        return Ok(None);
    }
    let caller = context.user()?.id;
    Ok(Some(Box::new(move |params| {
        format!("EXISTS (SELECT 1 FROM users_membership sm WHERE sm.team_id = p.team_id AND sm.user_id = {})", params.bind(caller))
    })))
}

async fn list_publications(context: &Context<'_>) -> Result<Reply, ApiError> {
    let query = compile(context, &PUBLICATIONS, list_scope(context)?).await?;
    let (count, ids) = page_ids(context, &PUBLICATIONS, &query).await?;
    let publications = in_page_order(&ids, context.state.db.publications_by_ids(&ids).await?, |publication| publication.id);
    let results = publications_json(context, &publications).await?;
    Ok(envelope(context, query.pagination, count, results))
}

/// Looks up the detail route's publication within the query filters. Every publication is in
/// scope here: a publication of another team is 403, not 404.
async fn find(context: &Context<'_>) -> Result<Publication, ApiError> {
    let id = context.record_id()?;
    if !is_visible(context, &PUBLICATIONS, None, id).await? {
        return Err(ApiError::NotFound(MODEL));
    }
    context.state.db.publication_by_id(id).await?.ok_or(ApiError::NotFound(MODEL))
}

async fn create(context: &Context<'_>) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let fields = read_fields(context, body.object()?, Mode::Full, None).await?;
    let publication = context.state.db.create_publication(&fields, &context.audit()).await.map_err(doi_conflict)?;
    tracing::info!(publication_id = publication.id, team_id = publication.team_id, cid = %context.request.cid, "created a publication");
    render(context, publication, StatusCode::CREATED).await
}

async fn update(context: &Context<'_>, current: Publication, mode: Mode) -> Result<Reply, ApiError> {
    let body = context.request.parse_body().await?;
    let fields = read_fields(context, body.object()?, mode, Some(&current)).await?;
    let publication = context.state.db.update_publication(&current, &fields, &context.audit()).await.map_err(doi_conflict)?;
    render(context, publication, StatusCode::OK).await
}

async fn destroy(context: &Context<'_>, publication: Publication) -> Result<Reply, ApiError> {
    context.state.db.delete_publication(&publication, &context.audit()).await?;
    tracing::info!(publication_id = publication.id, cid = %context.request.cid, "deleted a publication");
    Ok(Reply::empty(StatusCode::NO_CONTENT))
}

/// Validates the body in serializer field order and merges it into `current` (for updates).
/// Optional fields that a full update omits keep their stored values.
async fn read_fields(
    context: &Context<'_>,
    data: &Map<String, Value>,
    mode: Mode,
    current: Option<&Publication>,
) -> Result<PublicationFields, ApiError> {
    let db = &context.state.db;
    let is_form = is_form_body(context);
    let mut form = Form::new(data, mode);
    let title = form.required_text("title", TextRules::required(250));
    let abstract_text = form.text("abstract", TextRules { max_length: None, ..TextRules::optional(0) });
    let published = read_date(&mut form, data, "published", mode, false, true, is_form);
    let submitted = read_date(&mut form, data, "submitted", mode, false, true, is_form);
    let journal = form.text("journal", TextRules::optional(100));
    let doi = form.text("doi", TextRules::optional(50));
    if let Some(Some(doi)) = &doi {
        if db.doi_taken(doi, current.map(|publication| publication.id)).await? {
            form.error("doi", DOI_TAKEN);
        }
    }
    let volume = form.text("volume", TextRules::optional(20));
    let issue = form.text("issue", TextRules::optional(20));
    let team = form.primary_key("team", true);
    if let Some(team_id) = team {
        if db.team_by_id(team_id).await?.is_none() {
            form.error("team", does_not_exist(team_id));
        }
    }
    form.finish()?;

    let merged = match current {
        Some(publication) => {
            let stored = PublicationFields::of(publication);
            PublicationFields {
                title: title.unwrap_or(stored.title),
                abstract_text: abstract_text.unwrap_or(stored.abstract_text),
                published: published.unwrap_or(stored.published),
                submitted: submitted.unwrap_or(stored.submitted),
                journal: journal.unwrap_or(stored.journal),
                doi: doi.unwrap_or(stored.doi),
                volume: volume.unwrap_or(stored.volume),
                issue: issue.unwrap_or(stored.issue),
                team_id: team.unwrap_or(stored.team_id),
            }
        }
        None => {
            let (Some(title), Some(team_id)) = (title, team) else {
                return Err(ApiError::Internal("validated publication input is incomplete".to_string()));
            };
            PublicationFields {
                title,
                abstract_text: abstract_text.flatten(),
                published: published.flatten(),
                submitted: submitted.flatten(),
                journal: journal.flatten(),
                doi: doi.flatten(),
                volume: volume.flatten(),
                issue: issue.flatten(),
                team_id,
            }
        }
    };
    Ok(merged)
}

/// Maps the constraint violation of a DOI taken by a concurrent request to the field error.
fn doi_conflict(error: StorageError) -> ApiError {
    match error {
        StorageError::Conflict(_) => ApiError::field("doi", DOI_TAKEN),
        other => other.into(),
    }
}

async fn render(context: &Context<'_>, publication: Publication, status: StatusCode) -> Result<Reply, ApiError> {
    let mut results = publications_json(context, &[publication]).await?;
    Ok(Reply::json(status, &results.pop().unwrap_or(Value::Null)))
}

/// Publication representations for a page: teams, history and history actors are fetched
/// once for all publications (three queries).
async fn publications_json(context: &Context<'_>, publications: &[Publication]) -> Result<Vec<Value>, ApiError> {
    let db = &context.state.db;
    let ids: Vec<i64> = publications.iter().map(|publication| publication.id).collect();
    let mut team_ids: Vec<i64> = publications.iter().map(|publication| publication.team_id).collect();
    team_ids.sort_unstable();
    team_ids.dedup();
    let teams: HashMap<i64, Team> = db.teams_by_ids(&team_ids).await?.into_iter().map(|team| (team.id, team)).collect();
    let (history, actors) = history_of(db, ContentType::Publication, &ids).await?;
    Ok(publications
        .iter()
        .map(|publication| {
            let team = teams.get(&publication.team_id).map(|team| team_summary(team.id, &team.slug, &team.name, team.is_active));
            let mut object = Map::new();
            object.insert("id".into(), json!(publication.id));
            object.insert("_team".into(), team.unwrap_or(Value::Null));
            object.insert("_history".into(), history_json(history.get(&publication.id).map(Vec::as_slice).unwrap_or(&[]), &actors));
            object.insert("title".into(), json!(publication.title));
            object.insert("abstract".into(), json!(publication.abstract_text));
            object.insert("published".into(), json!(publication.published.as_ref().map(format_date)));
            object.insert("submitted".into(), json!(publication.submitted.as_ref().map(format_date)));
            object.insert("journal".into(), json!(publication.journal));
            object.insert("doi".into(), json!(publication.doi));
            object.insert("volume".into(), json!(publication.volume));
            object.insert("issue".into(), json!(publication.issue));
            object.insert("team".into(), json!(publication.team_id));
            Value::Object(object)
        })
        .collect())
}
