//! `/allocations/attachments/` over real HTTP. The tests cover the access matrix per role and
//! method, and multipart uploads into the upload folder with their size, type and count
//! limits. They also cover file names that try to leave the folder, the download route, file
//! removal on delete and replace, search, filters, and a fixed statement count per list page.
//!
//! The server runs with `CONFIG_UPLOAD_COUNT=3` and the default `CONFIG_UPLOAD_SIZE`
//! (2621440 bytes).

#[path = "../fixtures/research/fixture.rs"]
mod fixture;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use fixture::{multipart, result_ids, Body, Fixture, Role, METHODS};
use keystone_blackbox::{Backend, TestServer};
use reqwest::Method;
use serde_json::{json, Value};
use Role::*;

const UPLOAD_SIZE: usize = 2_621_440;
const UPLOAD_COUNT: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    List,
    /// An attachment of a request of team A.
    Detail,
    /// The download route of such an attachment.
    Download,
}

use Target::*;

/// Expected status per method: GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE, TRACE.
#[rustfmt::skip]
const MATRIX: &[(Target, Role, [u16; 8])] = &[
    (List,     Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (List,     Outsider,  [200, 200, 200, 403, 405, 405, 405, 405]),
    (List,     Member,    [200, 200, 200, 403, 405, 405, 405, 405]),
    (List,     Admin,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (List,     Owner,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (List,     Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (Detail,   Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (Detail,   Outsider,  [403, 403, 200, 405, 403, 403, 403, 405]),
    (Detail,   Member,    [200, 200, 200, 405, 403, 403, 403, 405]),
    (Detail,   Admin,     [200, 200, 200, 405, 403, 403, 403, 405]),
    (Detail,   Owner,     [200, 200, 200, 405, 403, 403, 403, 405]),
    (Detail,   Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (Download, Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (Download, Outsider,  [403, 403, 200, 405, 405, 405, 405, 405]),
    (Download, Member,    [200, 200, 200, 405, 405, 405, 405, 405]),
    (Download, Admin,     [200, 200, 200, 405, 405, 405, 405, 405]),
    (Download, Owner,     [200, 200, 200, 405, 405, 405, 405, 405]),
    (Download, Staff,     [200, 200, 200, 405, 405, 405, 405, 405]),
];

/// Builds a multipart upload body for `request`.
fn upload_body(request: i64, file_name: &str, content: &[u8]) -> Body {
    multipart(&[("request", &request.to_string())], Some((file_name, content)))
}

/// Uploads a file as staff and returns the attachment.
async fn upload(fixture: &Fixture, request: i64, file_name: &str, content: &[u8]) -> Value {
    fixture.expect(Staff, Method::POST, "/allocations/attachments/", &upload_body(request, file_name, content), 201).await.json()
}

fn upload_folder(fixture: &Fixture) -> PathBuf {
    fixture.server.data_dir.path().join("media").join("allocations")
}

/// Lists every file under the server's data directory, except the database, its journal files
/// and the server logs.
fn data_files(fixture: &Fixture) -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, found: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.insert(path);
            }
        }
    }
    let root = fixture.server.data_dir.path();
    let mut found = BTreeSet::new();
    walk(root, &mut found);
    found.retain(|path| {
        let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
        let at_root = path.parent() == Some(root);
        !(at_root && (name.starts_with("keystone") || name.ends_with(".log") || name == "secret_key"))
    });
    found
}

fn stored_path(fixture: &Fixture, attachment: &Value) -> PathBuf {
    let file = attachment["file"].as_str().expect("file is a string");
    let name = file.strip_prefix("allocations/").unwrap_or_else(|| panic!("{:?}: file {file} is outside allocations/", fixture.backend));
    upload_folder(fixture).join(name)
}

async fn access_matrix(fixture: &Fixture) {
    let shared_request = fixture.request(fixture.team_a, "Matrix request").await;
    let shared = upload(fixture, shared_request, "shared.txt", b"shared").await["id"].as_i64().unwrap();
    for (target, role, statuses) in MATRIX {
        for (method, status) in METHODS.iter().zip(statuses) {
            let writes = matches!(*method, Method::PUT | Method::PATCH | Method::DELETE);
            // Writes get a fresh attachment on a fresh request, so uploads never reach the
            // count limit.
            let (request, id) = if writes && *target == Detail {
                let request = fixture.request(fixture.team_a, "Fresh request").await;
                (request, upload(fixture, request, "fresh.txt", b"fresh").await["id"].as_i64().unwrap())
            } else {
                (shared_request, shared)
            };
            let path = match target {
                List => "/allocations/attachments/".to_string(),
                Detail => format!("/allocations/attachments/{id}/"),
                Download => format!("/allocations/attachments/{id}/download/"),
            };
            let body = match (method.clone(), target) {
                (Method::POST, List) => upload_body(fixture.request(fixture.team_a, "Upload request").await, "matrix.txt", b"matrix"),
                (Method::PUT, Detail) => upload_body(request, "replacement.txt", b"replacement"),
                (Method::PATCH, Detail) => Body::Json(json!({"name": "Renamed"})),
                _ => Body::None,
            };
            let response = fixture.send(*role, method.clone(), &path, &body).await;
            assert_eq!(response.status.as_u16(), *status, "{:?} {target:?} {role:?} {method}: {}", fixture.backend, response.body);
        }
    }
}

async fn upload_and_download(fixture: &Fixture) {
    let backend = fixture.backend;
    let request = fixture.request(fixture.team_a, "Download request").await;
    let content = b"%PDF-1.4 not really a PDF";
    let response =
        fixture.expect(Admin, Method::POST, "/allocations/attachments/", &upload_body(request, "report.pdf", content), 201).await;
    let attachment = response.json();
    let keys: Vec<&str> = attachment.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "file", "name", "_request", "_history", "uploaded", "request"], "{backend:?}");
    assert_eq!(attachment["file"], "allocations/report.pdf", "{backend:?}");
    assert_eq!(attachment["name"], "report.pdf", "{backend:?}: the file name is the default name");
    assert_eq!(attachment["request"], request, "{backend:?}");
    assert_eq!(attachment["_request"]["title"], "Download request", "{backend:?}");
    let history = &attachment["_history"][0];
    assert_eq!(history["action"], "create", "{backend:?}");
    assert_eq!(history["changes"]["file"], json!(["None", "allocations/report.pdf"]), "{backend:?}");
    assert_eq!(std::fs::read(stored_path(fixture, &attachment)).expect("the file is stored"), content, "{backend:?}");

    let download = format!("/allocations/attachments/{}/download/", attachment["id"]);
    let response = fixture.expect(Member, Method::GET, &download, &Body::None, 200).await;
    assert_eq!(response.body.as_bytes(), content, "{backend:?}");
    assert_eq!(response.header("content-type"), Some("application/pdf"), "{backend:?}");
    assert_eq!(response.header("content-disposition"), Some("attachment; filename=\"report.pdf\""), "{backend:?}");

    // An explicit name is kept, and names the download.
    let named = fixture
        .expect(
            Owner,
            Method::POST,
            "/allocations/attachments/",
            &multipart(&[("request", &request.to_string()), ("name", "Budget \"final\"")], Some(("budget.csv", b"a,b"))),
            201,
        )
        .await
        .json();
    assert_eq!(named["name"], "Budget \"final\"", "{backend:?}");
    let response =
        fixture.expect(Member, Method::GET, &format!("/allocations/attachments/{}/download/", named["id"]), &Body::None, 200).await;
    assert_eq!(response.header("content-type"), Some("text/csv"), "{backend:?}");
    assert_eq!(response.header("content-disposition"), Some("attachment; filename=\"Budget _final_\""), "{backend:?}");

    // The same name twice: the second file gets a random suffix, and each keeps its content.
    let second = upload(fixture, request, "report.pdf", b"second").await;
    let file = second["file"].as_str().unwrap();
    let suffix = file.strip_prefix("allocations/report_").and_then(|rest| rest.strip_suffix(".pdf")).unwrap_or("");
    assert!(suffix.len() == 7 && suffix.chars().all(|c| c.is_ascii_alphanumeric()), "{backend:?}: second file {file}");
    assert_eq!(std::fs::read(stored_path(fixture, &second)).unwrap(), b"second", "{backend:?}");
    assert_eq!(std::fs::read(stored_path(fixture, &attachment)).unwrap(), content, "{backend:?}: the first file is untouched");
}

async fn rejected_uploads(fixture: &Fixture) {
    let backend = fixture.backend;
    let list = "/allocations/attachments/";
    let request = fixture.request(fixture.team_a, "Limits request").await;
    let files_before = data_files(fixture);
    let rows_before = fixture.count("SELECT COUNT(*) FROM allocations_attachment").await;

    let too_big = vec![b'x'; UPLOAD_SIZE + 1];
    let cases: Vec<(&str, Body, Value)> = vec![
        (
            "one byte over the size limit",
            upload_body(request, "big.txt", &too_big),
            json!({"file": ["File size should not exceed 2.50 MB."]}),
        ),
        ("unknown extension", upload_body(request, "data.qqqzzz", b"x"), json!({"file": ["File type could not be resolved."]})),
        ("no extension", upload_body(request, "README", b"x"), json!({"file": ["File type could not be resolved."]})),
        ("disallowed type", upload_body(request, "data.json", b"{}"), json!({"file": ["File type 'application/json' is not allowed."]})),
        (
            "too big and disallowed",
            upload_body(request, "big.json", &too_big),
            json!({"file": ["File size should not exceed 2.50 MB.", "File type 'application/json' is not allowed."]}),
        ),
        ("empty file", upload_body(request, "empty.txt", b""), json!({"file": ["The submitted file is empty."]})),
        ("no file part", multipart(&[("request", &request.to_string())], None), json!({"file": ["No file was submitted."]})),
        ("a file name of dots", upload_body(request, "..", b"x"), json!({"file": ["No file was submitted."]})),
        (
            "a text field named file",
            Body::Json(json!({"file": "notes.txt", "request": request})),
            json!({"file": ["The submitted data was not a file. Check the encoding type on the form."]}),
        ),
        (
            "blank name and missing request",
            multipart(&[("name", "")], Some(("ok.txt", b"x"))),
            json!({"name": ["This field may not be blank."], "request": ["This field is required."]}),
        ),
        ("unknown request", upload_body(999_999, "ok.txt", b"x"), json!({"request": ["Invalid pk \"999999\" - object does not exist."]})),
        ("a JSON array", Body::Json(json!([1])), json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]})),
    ];
    for (case, body, expected) in cases {
        let response = fixture.send(Staff, Method::POST, list, &body).await;
        assert_eq!(response.status.as_u16(), 400, "{backend:?} {case}: {}", response.body);
        assert_eq!(response.json(), expected, "{backend:?} {case}");
    }

    // The non-staff create rule turns an unusable `request` into 403.
    for body in [Body::Json(json!([1])), multipart(&[("request", "abc")], Some(("ok.txt", b"x"))), multipart(&[], Some(("ok.txt", b"x")))] {
        let response = fixture.send(Owner, Method::POST, list, &body).await;
        assert_eq!(response.status.as_u16(), 403, "{backend:?}: {}", response.body);
    }
    let other_team = fixture.request(fixture.team_b, "Other team request").await;
    fixture.expect(Owner, Method::POST, list, &upload_body(other_team, "ok.txt", b"x"), 403).await;

    assert_eq!(data_files(fixture), files_before, "{backend:?}: a rejected upload left a file");
    assert_eq!(
        fixture.count("SELECT COUNT(*) FROM allocations_attachment").await,
        rows_before,
        "{backend:?}: a rejected upload left a row"
    );

    // Exactly the size limit is accepted. Type checks ignore case and a compression suffix.
    let exact = vec![b'y'; UPLOAD_SIZE];
    let accepted = upload(fixture, request, "exact.TXT", &exact).await;
    assert_eq!(std::fs::metadata(stored_path(fixture, &accepted)).unwrap().len(), UPLOAD_SIZE as u64, "{backend:?}");
    upload(fixture, request, "notes.txt.gz", b"x").await;
    upload(fixture, request, "README.md", b"# notes").await;

    // The request now has CONFIG_UPLOAD_COUNT attachments, so another is rejected.
    let files_full = data_files(fixture);
    let response = fixture.send(Owner, Method::POST, list, &upload_body(request, "fourth.txt", b"x")).await;
    assert_eq!(response.status.as_u16(), 400, "{backend:?}: {}", response.body);
    assert_eq!(
        response.json(),
        json!({"file": [format!("An allocation request may have at most {UPLOAD_COUNT} attachments.")]}),
        "{backend:?}"
    );
    assert_eq!(data_files(fixture), files_full, "{backend:?}: the rejected fourth upload left a file");
    let stored = fixture.count(&format!("SELECT COUNT(*) FROM allocations_attachment WHERE request_id = {request}")).await;
    assert_eq!(stored, UPLOAD_COUNT as i64, "{backend:?}");

    // Moving an attachment onto the full request is rejected the same way.
    let other = fixture.request(fixture.team_a, "Another request").await;
    let movable = upload(fixture, other, "movable.txt", b"x").await;
    let path = format!("{list}{}/", movable["id"]);
    let response = fixture.json(Staff, Method::PATCH, &path, json!({"request": request})).await;
    assert_eq!(response.status.as_u16(), 400, "{backend:?}: {}", response.body);
    assert_eq!(fixture.get(Staff, &path).await.json()["request"], other, "{backend:?}");
}

/// Uploads of one name to one request at the same time: the count limit still holds, and no
/// upload replaces another's file.
async fn concurrent_uploads(fixture: &Fixture) {
    let backend = fixture.backend;
    let request = fixture.request(fixture.team_a, "Race request").await;
    let before = data_files(fixture);
    let bodies: Vec<Body> = (1..=6).map(|index: u8| upload_body(request, "race.txt", &[b'0' + index])).collect();
    let list = "/allocations/attachments/";
    let responses = tokio::join!(
        fixture.send(Owner, Method::POST, list, &bodies[0]),
        fixture.send(Owner, Method::POST, list, &bodies[1]),
        fixture.send(Owner, Method::POST, list, &bodies[2]),
        fixture.send(Owner, Method::POST, list, &bodies[3]),
        fixture.send(Owner, Method::POST, list, &bodies[4]),
        fixture.send(Owner, Method::POST, list, &bodies[5]),
    );
    let responses = [responses.0, responses.1, responses.2, responses.3, responses.4, responses.5];

    let mut stored = BTreeSet::new();
    let mut rejected = 0;
    for response in &responses {
        match response.status.as_u16() {
            201 => {
                let attachment = response.json();
                let path = stored_path(fixture, &attachment);
                assert!(stored.insert(path), "{backend:?}: two uploads got the same file {}", attachment["file"]);
            }
            400 => {
                assert_eq!(
                    response.json(),
                    json!({"file": [format!("An allocation request may have at most {UPLOAD_COUNT} attachments.")]}),
                    "{backend:?}"
                );
                rejected += 1;
            }
            status => panic!("{backend:?}: a concurrent upload got {status}: {}", response.body),
        }
    }
    assert_eq!(stored.len(), UPLOAD_COUNT, "{backend:?}: accepted uploads");
    assert_eq!(rejected, responses.len() - UPLOAD_COUNT, "{backend:?}: rejected uploads");
    let added: BTreeSet<PathBuf> = data_files(fixture).difference(&before).cloned().collect();
    assert_eq!(added, stored, "{backend:?}: only the accepted files remain, with no temporary files");
    let mut contents: Vec<Vec<u8>> = stored.iter().map(|path| std::fs::read(path).unwrap()).collect();
    contents.sort();
    contents.dedup();
    assert_eq!(contents.len(), UPLOAD_COUNT, "{backend:?}: each accepted file keeps its own content");
}

async fn file_names_stay_inside(fixture: &Fixture) {
    let backend = fixture.backend;
    let cases = [
        ("../../etc/passwd.txt", "allocations/passwd.txt", "passwd.txt"),
        ("..\\..\\x.txt", "allocations/x.txt", "x.txt"),
        ("/etc/hosts.txt", "allocations/hosts.txt", "hosts.txt"),
        ("C:\\evil\\win.txt", "allocations/win.txt", "win.txt"),
        ("...hidden.txt", "allocations/hidden.txt", "...hidden.txt"),
        ("my report (v2).pdf", "allocations/my_report_v2.pdf", "my report (v2).pdf"),
        ("..%2F..%2Fescape.txt", "allocations/2F.2Fescape.txt", "..%2F..%2Fescape.txt"),
    ];
    let before = data_files(fixture);
    let mut expected_files = BTreeSet::new();
    for (index, (client_name, file, name)) in cases.iter().enumerate() {
        let request = fixture.request(fixture.team_a, &format!("Traversal {index}")).await;
        let attachment = upload(fixture, request, client_name, client_name.as_bytes()).await;
        assert_eq!(attachment["file"], *file, "{backend:?} {client_name}");
        assert_eq!(attachment["name"], *name, "{backend:?} {client_name}");
        let path = stored_path(fixture, &attachment);
        assert_eq!(std::fs::read(&path).unwrap(), client_name.as_bytes(), "{backend:?} {client_name}");
        expected_files.insert(path);
    }
    let added: BTreeSet<PathBuf> = data_files(fixture).difference(&before).cloned().collect();
    assert_eq!(added, expected_files, "{backend:?}: files appeared outside the expected places");

    // A NUL byte in a multipart header is malformed and rejected before anything is stored.
    let request = fixture.request(fixture.team_a, "NUL request").await;
    let before = data_files(fixture);
    let response = fixture.send(Staff, Method::POST, "/allocations/attachments/", &upload_body(request, "a\0b.txt", b"x")).await;
    assert_eq!(response.status.as_u16(), 400, "{backend:?}: {}", response.body);
    assert_eq!(data_files(fixture), before, "{backend:?}");

    // Long names are cut so the stored path fits 100 characters; the name keeps 250.
    let long = format!("{}.pdf", "a".repeat(300));
    let attachment = upload(fixture, request, &long, b"x").await;
    let file = attachment["file"].as_str().unwrap();
    assert!(file.chars().count() <= 100, "{backend:?}: {file}");
    assert!(file.starts_with("allocations/aaa"), "{backend:?}: {file}");
    assert!(file.ends_with(".pdf"), "{backend:?}: {file}");
    assert_eq!(attachment["name"].as_str().unwrap().chars().count(), 250, "{backend:?}");
    let again = upload(fixture, request, &long, b"y").await;
    let file = again["file"].as_str().unwrap();
    assert!(file.chars().count() <= 100, "{backend:?}: {file}");
    assert!(file.ends_with(".pdf"), "{backend:?}: {file}");
}

async fn replace_and_delete(fixture: &Fixture) {
    let backend = fixture.backend;
    let request = fixture.request(fixture.team_a, "Replace request").await;
    let original = upload(fixture, request, "draft.txt", b"draft").await;
    let path = format!("/allocations/attachments/{}/", original["id"]);
    let original_file = stored_path(fixture, &original);

    // A partial update without a file keeps the file.
    let renamed = fixture.json(Staff, Method::PATCH, &path, json!({"name": "Draft v1"})).await;
    assert_eq!(renamed.status.as_u16(), 200, "{backend:?}: {}", renamed.body);
    assert_eq!(renamed.json()["file"], original["file"], "{backend:?}");
    assert_eq!(renamed.json()["_history"][0]["changes"]["name"], json!(["draft.txt", "Draft v1"]), "{backend:?}");

    // A full update needs a file; the replaced file is removed.
    let no_file = fixture.json(Staff, Method::PUT, &path, json!({"request": request})).await;
    assert_eq!(no_file.json(), json!({"file": ["No file was submitted."]}), "{backend:?}");
    let replaced = fixture.expect(Staff, Method::PUT, &path, &upload_body(request, "final.txt", b"final"), 200).await.json();
    assert_eq!(replaced["file"], "allocations/final.txt", "{backend:?}");
    assert_eq!(replaced["name"], "Draft v1", "{backend:?}: a full update without a name keeps it");
    assert!(!original_file.exists(), "{backend:?}: the replaced file is still there");
    let final_file = stored_path(fixture, &replaced);
    assert_eq!(std::fs::read(&final_file).unwrap(), b"final", "{backend:?}");

    fixture.expect(Staff, Method::DELETE, &path, &Body::None, 204).await;
    assert!(!final_file.exists(), "{backend:?}: the deleted attachment's file is still there");
    fixture.expect(Staff, Method::GET, &path, &Body::None, 404).await;
    let missing = fixture.expect(Staff, Method::GET, &format!("{path}download/"), &Body::None, 404).await;
    assert_eq!(missing.json(), json!({"detail": "No Attachment matches the given query."}), "{backend:?}");
    let deletes = fixture
        .count(&format!(
            "SELECT COUNT(*) FROM auditlog_logentry WHERE content_type_id = 8 AND object_id = {} AND action = 2",
            original["id"]
        ))
        .await;
    assert_eq!(deletes, 1, "{backend:?}");
}

async fn lists(fixture: &Fixture) {
    let backend = fixture.backend;
    let list = "/allocations/attachments/";
    let nebula = fixture.request(fixture.team_a, "Nebula survey").await;
    let pulsar = fixture.request(fixture.team_a, "Pulsar timing").await;
    let elsewhere = fixture.request(fixture.team_b, "Nebula elsewhere").await;
    let mut nebula_ids = Vec::new();
    for index in 0..UPLOAD_COUNT {
        nebula_ids.push(upload(fixture, nebula, &format!("nebula-{index}.txt"), b"n").await["id"].as_i64().unwrap());
    }
    let mut pulsar_ids = Vec::new();
    for index in 0..UPLOAD_COUNT {
        pulsar_ids.push(upload(fixture, pulsar, &format!("pulsar-{index}.txt"), b"p").await["id"].as_i64().unwrap());
    }
    let other = upload(fixture, elsewhere, "other.txt", b"o").await["id"].as_i64().unwrap();

    assert_eq!(result_ids(&fixture.get(Member, &format!("{list}?_search=nebula")).await), nebula_ids, "{backend:?}");
    assert_eq!(
        result_ids(&fixture.get(Staff, &format!("{list}?_search=nebula")).await),
        [nebula_ids.clone(), vec![other]].concat(),
        "{backend:?}"
    );
    assert_eq!(fixture.get(Outsider, list).await.json()["count"], 0, "{backend:?}");
    fixture.expect(Member, Method::GET, &format!("{list}{other}/"), &Body::None, 403).await;
    fixture.expect(Member, Method::GET, &format!("{list}{other}/download/"), &Body::None, 403).await;

    // The submitter's names are searched too: every fixture request is the owner's.
    let by_submitter = fixture.get(Member, &format!("{list}?_search=owner%20pulsar")).await;
    assert_eq!(result_ids(&by_submitter), pulsar_ids, "{backend:?}");
    let by_request = result_ids(&fixture.get(Member, &format!("{list}?request={pulsar}&_order=-id")).await);
    assert_eq!(by_request, pulsar_ids.iter().rev().copied().collect::<Vec<_>>(), "{backend:?}");
    let by_name = result_ids(&fixture.get(Member, &format!("{list}?name__startswith=pulsar-1")).await);
    assert_eq!(by_name, [pulsar_ids[1]], "{backend:?}");
    let bad = fixture.get(Member, &format!("{list}?uploaded__gt=yesterday")).await;
    assert_eq!(bad.json(), json!({"uploaded__gt": ["Enter a valid date/time."]}), "{backend:?}");

    fixture.assert_fixed_queries(Member, list).await;
    fixture.assert_fixed_queries(Staff, list).await;
}

async fn run(backend: Backend) {
    let builder = TestServer::builder(backend).env("KEYSTONE_DEBUG_QUERIES", "true").env("CONFIG_UPLOAD_COUNT", &UPLOAD_COUNT.to_string());
    let fixture = Fixture::start(builder, backend).await;
    access_matrix(&fixture).await;
    upload_and_download(&fixture).await;
    rejected_uploads(&fixture).await;
    concurrent_uploads(&fixture).await;
    file_names_stay_inside(&fixture).await;
    replace_and_delete(&fixture).await;
    lists(&fixture).await;
    fixture.db.close().await;
}

#[tokio::test]
async fn attachments_sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test]
async fn attachments_postgres() {
    run(Backend::Postgres).await;
}
