//! The representation of an allocation request with everything nested in it, in the
//! reference's field order. The structs borrow from the loaded rows and serialise straight
//! into the response body. A page of 100 requests nests about a thousand objects. Building
//! them as `serde_json::Value` maps first took about a third of the server's CPU time for that
//! page (measured with `perf` under scripts/bench.sh).

use std::collections::HashMap;

use keystone_storage::allocations::records::{
    RequestAllocation, RequestAttachment, RequestComment, RequestGrant, RequestPublication, RequestWithTeam,
};
use keystone_storage::records::{AuditEntry, User};
use serde::Serialize;
use serde_json::Value;

use crate::json::{cents_to_decimal, format_date, format_datetime, history_json, ClusterSummaryView, TeamSummaryView, UserSummaryView};

/// Records nested in a page of requests, grouped by request id.
#[derive(Default)]
pub struct Nested {
    pub assignees: HashMap<i64, Vec<i64>>,
    pub publications: HashMap<i64, Vec<RequestPublication>>,
    pub grants: HashMap<i64, Vec<RequestGrant>>,
    pub allocations: HashMap<i64, Vec<RequestAllocation>>,
    pub attachments: HashMap<i64, Vec<RequestAttachment>>,
    pub comments: HashMap<i64, Vec<RequestComment>>,
    pub history: HashMap<i64, Vec<AuditEntry>>,
    /// Submitters, assignees, comment authors and history actors.
    pub users: HashMap<i64, User>,
}

/// One request as the API renders it.
#[derive(Serialize)]
pub struct RequestView<'a> {
    id: i64,
    _submitter: Option<UserSummaryView<'a>>,
    _team: TeamSummaryView<'a>,
    _assignees: Vec<Option<UserSummaryView<'a>>>,
    _publications: Vec<PublicationView<'a>>,
    _grants: Vec<GrantView<'a>>,
    _history: Value,
    _allocations: Vec<AllocationView<'a>>,
    _attachments: Vec<AttachmentView<'a>>,
    _comments: Vec<CommentView<'a>>,
    title: &'a str,
    description: &'a str,
    submitted: String,
    active: Option<String>,
    expire: Option<String>,
    status: &'a str,
    submitter: i64,
    team: i64,
    assignees: &'a [i64],
    publications: Vec<i64>,
    grants: Vec<i64>,
}

/// Every plain field of a publication.
#[derive(Serialize)]
struct PublicationView<'a> {
    id: i64,
    title: &'a str,
    #[serde(rename = "abstract")]
    abstract_text: Option<&'a str>,
    published: Option<String>,
    submitted: Option<String>,
    journal: Option<&'a str>,
    doi: Option<&'a str>,
    volume: Option<&'a str>,
    issue: Option<&'a str>,
    team: i64,
}

/// Every plain field of a grant, with the amount as a decimal string.
#[derive(Serialize)]
struct GrantView<'a> {
    id: i64,
    title: &'a str,
    agency: &'a str,
    pi: Option<&'a str>,
    amount: String,
    grant_number: Option<&'a str>,
    start_date: String,
    end_date: Option<String>,
    description: Option<&'a str>,
    team: i64,
}

#[derive(Serialize)]
struct AllocationView<'a> {
    id: i64,
    cluster: i64,
    requested: i64,
    awarded: Option<i64>,
    #[serde(rename = "final")]
    final_amount: Option<i64>,
    _cluster: ClusterSummaryView<'a>,
}

/// An attachment as a request nests it: no id.
#[derive(Serialize)]
struct AttachmentView<'a> {
    file: &'a str,
    name: &'a str,
}

#[derive(Serialize)]
struct CommentView<'a> {
    id: i64,
    user: i64,
    content: &'a str,
    created: String,
    private: bool,
    _user: Option<UserSummaryView<'a>>,
}

/// Builds the representation of one request of a page from the page's nested records.
pub fn request_view<'a>(row: &'a RequestWithTeam, nested: &'a Nested) -> RequestView<'a> {
    let request = &row.request;
    let user = |id: i64| nested.users.get(&id).map(UserSummaryView::from);
    let assignees = nested.assignees.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);
    let publications = nested.publications.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);
    let grants = nested.grants.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);
    let allocations = nested.allocations.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);
    let attachments = nested.attachments.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);
    let comments = nested.comments.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);
    let history = nested.history.get(&request.id).map(Vec::as_slice).unwrap_or(&[]);

    RequestView {
        id: request.id,
        _submitter: user(request.submitter_id),
        _team: TeamSummaryView { id: request.team_id, slug: &row.team_slug, name: &row.team_name, is_active: row.team_is_active },
        _assignees: assignees.iter().map(|id| user(*id)).collect(),
        _publications: publications.iter().map(publication_view).collect(),
        _grants: grants.iter().map(grant_view).collect(),
        _history: history_json(history, &nested.users),
        _allocations: allocations.iter().map(allocation_view).collect(),
        _attachments: attachments.iter().map(|attachment| AttachmentView { file: &attachment.file, name: &attachment.name }).collect(),
        _comments: comments.iter().map(|comment| comment_view(comment, user(comment.user_id))).collect(),
        title: &request.title,
        description: &request.description,
        submitted: format_datetime(&request.submitted),
        active: request.active.as_ref().map(format_date),
        expire: request.expire.as_ref().map(format_date),
        status: &request.status,
        submitter: request.submitter_id,
        team: request.team_id,
        assignees,
        publications: publications.iter().map(|publication| publication.id).collect(),
        grants: grants.iter().map(|grant| grant.id).collect(),
    }
}

fn publication_view(publication: &RequestPublication) -> PublicationView<'_> {
    PublicationView {
        id: publication.id,
        title: &publication.title,
        abstract_text: publication.abstract_text.as_deref(),
        published: publication.published.as_ref().map(format_date),
        submitted: publication.submitted.as_ref().map(format_date),
        journal: publication.journal.as_deref(),
        doi: publication.doi.as_deref(),
        volume: publication.volume.as_deref(),
        issue: publication.issue.as_deref(),
        team: publication.team_id,
    }
}

fn grant_view(grant: &RequestGrant) -> GrantView<'_> {
    GrantView {
        id: grant.id,
        title: &grant.title,
        agency: &grant.agency,
        pi: grant.pi.as_deref(),
        amount: cents_to_decimal(grant.amount_cents),
        grant_number: grant.grant_number.as_deref(),
        start_date: format_date(&grant.start_date),
        end_date: grant.end_date.as_ref().map(format_date),
        description: grant.description.as_deref(),
        team: grant.team_id,
    }
}

fn allocation_view(allocation: &RequestAllocation) -> AllocationView<'_> {
    AllocationView {
        id: allocation.id,
        cluster: allocation.cluster_id,
        requested: allocation.requested,
        awarded: allocation.awarded,
        final_amount: allocation.final_amount,
        _cluster: ClusterSummaryView { id: allocation.cluster_id, name: &allocation.cluster_name, enabled: allocation.cluster_enabled },
    }
}

fn comment_view<'a>(comment: &'a RequestComment, author: Option<UserSummaryView<'a>>) -> CommentView<'a> {
    CommentView {
        id: comment.id,
        user: comment.user_id,
        content: &comment.content,
        created: format_datetime(&comment.created),
        private: comment.private,
        _user: author,
    }
}
