//! Access matrix of the users app: for every route, caller role and HTTP method, the status the
//! server must return, with the error body and headers that go with it.
//!
//! One server per backend runs the whole matrix. Callers authenticate with API tokens, so no
//! cell pays for a password check. Every write (POST, PUT, PATCH, DELETE) gets fresh records,
//! so a successful write in one cell cannot change what another cell reads.

use keystone_blackbox::{insert_user, send_request, token_client, Backend, Client, Response, TestServer};
use keystone_storage::audit::AuditContext;
use keystone_storage::Database;
use reqwest::Method;
use serde_json::{json, Value};

/// Methods in the column order of [`MATRIX`].
const METHODS: [Method; 8] =
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::TRACE];

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// No credentials.
    Anonymous,
    /// Signed in, not staff, no membership in the record's team.
    Outsider,
    /// Team member (`MB`).
    Member,
    /// Team admin (`AD`).
    Admin,
    /// Team owner (`OW`).
    Owner,
    Staff,
}

impl Role {
    /// The membership role code this role has in the fixture teams.
    fn code(self) -> Option<&'static str> {
        match self {
            Role::Member => Some("MB"),
            Role::Admin => Some("AD"),
            Role::Owner => Some("OW"),
            _ => None,
        }
    }
}

/// The record or route a request addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    UserList,
    /// An active user other than the caller.
    OtherUser,
    /// The caller's own user record.
    OwnUser,
    InactiveUser,
    TeamList,
    /// An active team in which Member, Admin and Owner hold their roles.
    ActiveTeam,
    /// An inactive team in which Member, Admin and Owner hold their roles.
    InactiveTeam,
    MembershipList,
    /// Another user's `MB` membership in the active team.
    OtherMembership,
    /// The caller's own membership in the active team.
    OwnMembership,
    /// Another user's `MB` membership in the inactive team.
    InactiveTeamMembership,
    /// An inactive user's `MB` membership in the active team.
    InactiveUserMembership,
    RoleChoices,
}

use Role::*;
use Target::*;

/// Expected status per method, in the order of [`METHODS`]:
/// GET, HEAD, OPTIONS, POST, PUT, PATCH, DELETE, TRACE.
///
/// Bodies: list POSTs carry a valid new record, detail PUTs and PATCHes a valid change, and
/// every other request has no body. A membership PUT names the record's team, so a caller who
/// does not own or administer that team gets 403 before the record is looked up.
#[rustfmt::skip]
const MATRIX: &[(Target, Role, [u16; 8])] = &[
    //                                         GET  HEAD OPT  POST PUT  PATCH DEL TRACE
    (UserList,               Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (UserList,               Outsider,  [200, 200, 200, 403, 405, 405, 405, 405]),
    (UserList,               Member,    [200, 200, 200, 403, 405, 405, 405, 405]),
    (UserList,               Admin,     [200, 200, 200, 403, 405, 405, 405, 405]),
    (UserList,               Owner,     [200, 200, 200, 403, 405, 405, 405, 405]),
    (UserList,               Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (OtherUser,              Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (OtherUser,              Outsider,  [200, 200, 200, 405, 403, 403, 403, 405]),
    (OtherUser,              Member,    [200, 200, 200, 405, 403, 403, 403, 405]),
    (OtherUser,              Admin,     [200, 200, 200, 405, 403, 403, 403, 405]),
    (OtherUser,              Owner,     [200, 200, 200, 405, 403, 403, 403, 405]),
    (OtherUser,              Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (OwnUser,                Outsider,  [200, 200, 200, 405, 200, 200, 204, 405]),
    (OwnUser,                Member,    [200, 200, 200, 405, 200, 200, 204, 405]),
    (OwnUser,                Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (OwnUser,                Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (OwnUser,                Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (InactiveUser,           Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (InactiveUser,           Outsider,  [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveUser,           Member,    [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveUser,           Admin,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveUser,           Owner,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveUser,           Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (TeamList,               Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (TeamList,               Outsider,  [200, 200, 200, 201, 405, 405, 405, 405]),
    (TeamList,               Member,    [200, 200, 200, 201, 405, 405, 405, 405]),
    (TeamList,               Admin,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (TeamList,               Owner,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (TeamList,               Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (ActiveTeam,             Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (ActiveTeam,             Outsider,  [200, 200, 200, 405, 403, 403, 403, 405]),
    (ActiveTeam,             Member,    [200, 200, 200, 405, 403, 403, 403, 405]),
    (ActiveTeam,             Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (ActiveTeam,             Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (ActiveTeam,             Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (InactiveTeam,           Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (InactiveTeam,           Outsider,  [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveTeam,           Member,    [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveTeam,           Admin,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveTeam,           Owner,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveTeam,           Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (MembershipList,         Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (MembershipList,         Outsider,  [200, 200, 200, 403, 405, 405, 405, 405]),
    (MembershipList,         Member,    [200, 200, 200, 403, 405, 405, 405, 405]),
    (MembershipList,         Admin,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (MembershipList,         Owner,     [200, 200, 200, 201, 405, 405, 405, 405]),
    (MembershipList,         Staff,     [200, 200, 200, 201, 405, 405, 405, 405]),

    (OtherMembership,        Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (OtherMembership,        Outsider,  [200, 200, 200, 405, 403, 403, 403, 405]),
    (OtherMembership,        Member,    [200, 200, 200, 405, 403, 403, 403, 405]),
    (OtherMembership,        Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (OtherMembership,        Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (OtherMembership,        Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (OwnMembership,          Member,    [200, 200, 200, 405, 403, 403, 204, 405]),
    (OwnMembership,          Admin,     [200, 200, 200, 405, 200, 200, 204, 405]),
    (OwnMembership,          Owner,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (InactiveTeamMembership, Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (InactiveTeamMembership, Outsider,  [404, 404, 200, 405, 403, 404, 404, 405]),
    (InactiveTeamMembership, Member,    [404, 404, 200, 405, 403, 404, 404, 405]),
    (InactiveTeamMembership, Admin,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveTeamMembership, Owner,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveTeamMembership, Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (InactiveUserMembership, Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (InactiveUserMembership, Outsider,  [404, 404, 200, 405, 403, 404, 404, 405]),
    (InactiveUserMembership, Member,    [404, 404, 200, 405, 403, 404, 404, 405]),
    (InactiveUserMembership, Admin,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveUserMembership, Owner,     [404, 404, 200, 405, 404, 404, 404, 405]),
    (InactiveUserMembership, Staff,     [200, 200, 200, 405, 200, 200, 204, 405]),

    (RoleChoices,            Anonymous, [401, 401, 401, 401, 401, 401, 401, 401]),
    (RoleChoices,            Outsider,  [200, 200, 200, 405, 405, 405, 405, 405]),
    (RoleChoices,            Member,    [200, 200, 200, 405, 405, 405, 405, 405]),
    (RoleChoices,            Admin,     [200, 200, 200, 405, 405, 405, 405, 405]),
    (RoleChoices,            Owner,     [200, 200, 200, 405, 405, 405, 405, 405]),
    (RoleChoices,            Staff,     [200, 200, 200, 405, 405, 405, 405, 405]),
];

const ROLES: [Role; 6] = [Anonymous, Outsider, Member, Admin, Owner, Staff];

/// The shared records of the matrix. Write cells make their own records instead.
struct World {
    server: TestServer,
    db: Database,
    /// One client per role, in the order of [`ROLES`].
    clients: Vec<Client>,
    /// User id per role (0 for Anonymous), in the order of [`ROLES`].
    user_ids: Vec<i64>,
    active_team: i64,
    inactive_team: i64,
    other_user: i64,
    inactive_user: i64,
    other_membership: i64,
    inactive_team_membership: i64,
    inactive_user_membership: i64,
    /// Counter for unique names of fresh records.
    serial: u32,
}

/// What one request addresses, and who sends it.
struct Prepared {
    path: String,
    /// The addressed record's id; 0 for list and choices routes.
    id: i64,
    client: Client,
    body: Option<Value>,
}

fn role_index(role: Role) -> usize {
    ROLES.iter().position(|candidate| *candidate == role).expect("every role is listed")
}

impl World {
    async fn build(backend: Backend) -> World {
        let server = TestServer::start(backend).await;
        let db = server.storage().await;
        let audit = AuditContext::default();

        let mut user_ids = vec![0];
        for (name, staff) in [("outsider", false), ("member", false), ("admin", false), ("owner", false), ("staff", true)] {
            user_ids.push(insert_user(&db, name, staff, true).await);
        }
        let other_user = insert_user(&db, "target", false, true).await;
        let inactive_user = insert_user(&db, "ghost", false, false).await;

        let active_team = db.create_team("Active Team", true, None, &audit).await.expect("team created").id;
        let inactive_team = db.create_team("Dormant Team", false, None, &audit).await.expect("team created").id;
        for role in [Member, Admin, Owner] {
            let code = role.code().expect("team roles have a code");
            let user = user_ids[role_index(role)];
            db.create_membership(user, active_team, code, &audit).await.expect("membership");
            db.create_membership(user, inactive_team, code, &audit).await.expect("membership");
        }
        let other_membership = db.create_membership(other_user, active_team, "MB", &audit).await.expect("membership").id;
        let inactive_team_membership = db.create_membership(other_user, inactive_team, "MB", &audit).await.expect("membership").id;
        let inactive_user_membership = db.create_membership(inactive_user, active_team, "MB", &audit).await.expect("membership").id;

        let mut clients = vec![server.client()];
        for user_id in &user_ids[1..] {
            clients.push(token_client(&server, &db, *user_id).await);
        }
        World {
            server,
            db,
            clients,
            user_ids,
            active_team,
            inactive_team,
            other_user,
            inactive_user,
            other_membership,
            inactive_team_membership,
            inactive_user_membership,
            serial: 0,
        }
    }

    fn fresh_name(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}{}", self.serial)
    }

    fn client(&self, role: Role) -> Client {
        let mut client = self.server.client();
        client.token = self.clients[role_index(role)].token.clone();
        client
    }

    /// Creates a user with `role`'s staff flag and, for team roles, its membership in the active
    /// team. Returns the user's id, the membership id (0 when none) and a client for the user.
    async fn fresh_caller(&mut self, role: Role) -> (i64, i64, Client) {
        let name = self.fresh_name("caller");
        let user = insert_user(&self.db, &name, role == Staff, true).await;
        let mut membership = 0;
        if let Some(code) = role.code() {
            membership = self.db.create_membership(user, self.active_team, code, &AuditContext::default()).await.expect("membership").id;
        }
        let client = token_client(&self.server, &self.db, user).await;
        (user, membership, client)
    }

    /// Creates a team with the memberships of the Member, Admin and Owner roles.
    async fn fresh_team(&mut self, active: bool) -> i64 {
        let name = self.fresh_name("Fresh Team ");
        let audit = AuditContext::default();
        let team = self.db.create_team(&name, active, None, &audit).await.expect("team created").id;
        for role in [Member, Admin, Owner] {
            let user = self.user_ids[role_index(role)];
            self.db.create_membership(user, team, role.code().expect("team role"), &audit).await.expect("membership");
        }
        team
    }

    /// Creates an active or inactive user with an `MB` membership in `team`. Returns the
    /// membership id and the user id.
    async fn fresh_membership(&mut self, team: i64, active_user: bool) -> (i64, i64) {
        let name = self.fresh_name("joiner");
        let user = insert_user(&self.db, &name, false, active_user).await;
        let membership = self.db.create_membership(user, team, "MB", &AuditContext::default()).await.expect("membership").id;
        (membership, user)
    }

    /// Resolves a cell to its request. Writes address fresh records; reads use shared ones.
    async fn prepare(&mut self, target: Target, role: Role, method: &Method) -> Prepared {
        let write = matches!(*method, Method::POST | Method::PUT | Method::PATCH | Method::DELETE);
        let mut client = self.client(role);
        let (path, id, body) = match target {
            UserList => {
                let body = json!({"username": self.fresh_name("newcomer"), "password": "Sturdy-Lantern-84"});
                ("/users/users/".to_string(), 0, Some(body))
            }
            OtherUser | InactiveUser | OwnUser => {
                let (id, username) = match (target, write) {
                    (OwnUser, _) => {
                        let (user, _, caller) = self.fresh_caller(role).await;
                        client = caller;
                        (user, self.username(user).await)
                    }
                    (OtherUser, false) => (self.other_user, "target".to_string()),
                    (InactiveUser, false) => (self.inactive_user, "ghost".to_string()),
                    _ => {
                        let name = self.fresh_name("subject");
                        (insert_user(&self.db, &name, false, target == OtherUser).await, name)
                    }
                };
                let body = user_body(method, &username);
                (format!("/users/users/{id}/"), id, body)
            }
            TeamList => ("/users/teams/".to_string(), 0, Some(json!({"name": self.fresh_name("Created Team ")}))),
            ActiveTeam | InactiveTeam => {
                let id = match (target, write) {
                    (ActiveTeam, false) => self.active_team,
                    (InactiveTeam, false) => self.inactive_team,
                    _ => self.fresh_team(target == ActiveTeam).await,
                };
                let body = matches!(*method, Method::PUT | Method::PATCH).then(|| json!({"is_active": true}));
                (format!("/users/teams/{id}/"), id, body)
            }
            MembershipList => {
                let name = self.fresh_name("recruit");
                let user = insert_user(&self.db, &name, false, true).await;
                ("/users/memberships/".to_string(), 0, Some(json!({"team": self.active_team, "user": user, "role": "MB"})))
            }
            OtherMembership | OwnMembership | InactiveTeamMembership | InactiveUserMembership => {
                let (id, user, team) = match (target, write) {
                    (OwnMembership, _) => {
                        let (user, membership, caller) = self.fresh_caller(role).await;
                        client = caller;
                        (membership, user, self.active_team)
                    }
                    (OtherMembership, false) => (self.other_membership, self.other_user, self.active_team),
                    (InactiveTeamMembership, false) => (self.inactive_team_membership, self.other_user, self.inactive_team),
                    (InactiveUserMembership, false) => (self.inactive_user_membership, self.inactive_user, self.active_team),
                    (InactiveTeamMembership, true) => {
                        let team = self.inactive_team;
                        let (membership, user) = self.fresh_membership(team, true).await;
                        (membership, user, team)
                    }
                    (_, true) => {
                        let team = self.active_team;
                        let (membership, user) = self.fresh_membership(team, target == OtherMembership).await;
                        (membership, user, team)
                    }
                    _ => unreachable!("every membership target is matched"),
                };
                let body = match *method {
                    Method::PUT => Some(json!({"role": "AD", "user": user, "team": team})),
                    Method::PATCH => Some(json!({"role": "AD"})),
                    _ => None,
                };
                (format!("/users/memberships/{id}/"), id, body)
            }
            RoleChoices => ("/users/membership-choices/role/".to_string(), 0, None),
        };
        // Only list POSTs and detail PUTs and PATCHes carry a body.
        let is_list = id == 0;
        let keeps_body = if is_list { *method == Method::POST } else { matches!(*method, Method::PUT | Method::PATCH) };
        Prepared { path, id, client, body: if keeps_body { body } else { None } }
    }

    async fn username(&self, user_id: i64) -> String {
        self.db.user_by_id(user_id).await.expect("user lookup").expect("user exists").username
    }
}

fn user_body(method: &Method, username: &str) -> Option<Value> {
    match *method {
        Method::PUT => Some(json!({"username": username, "password": "Sturdy-Lantern-84"})),
        Method::PATCH => Some(json!({"first_name": "Patched"})),
        _ => None,
    }
}

fn model_name(target: Target) -> &'static str {
    match target {
        UserList | OtherUser | OwnUser | InactiveUser => "User",
        TeamList | ActiveTeam | InactiveTeam => "Team",
        _ => "Membership",
    }
}

fn allow_header(target: Target) -> &'static str {
    match target {
        UserList | TeamList | MembershipList => "GET, POST, HEAD, OPTIONS",
        RoleChoices => "GET, HEAD, OPTIONS",
        _ => "GET, PUT, PATCH, DELETE, HEAD, OPTIONS",
    }
}

/// Checks one response against the cell's expected status; returns every mismatch.
async fn check_response(
    world: &World,
    target: Target,
    method: &Method,
    expected: u16,
    request: &Prepared,
    response: &Response,
) -> Vec<String> {
    let status = response.status.as_u16();
    if status != expected {
        return vec![format!("status {status}, expected {expected}; body: {}", response.body)];
    }

    let mut problems = Vec::new();
    if response.header("allow") != Some(allow_header(target)) {
        problems.push(format!("Allow header {:?}, expected {:?}", response.header("allow"), allow_header(target)));
    }
    if *method == Method::HEAD {
        if !response.body.is_empty() {
            problems.push(format!("HEAD answered with a body: {}", response.body));
        }
        return problems;
    }

    match status {
        401 | 403 | 404 | 405 => problems.extend(check_error_body(target, method, response)),
        204 => {
            if !response.body.is_empty() {
                problems.push(format!("204 answered with a body: {}", response.body));
            }
            let after = send_request(&world.clients[role_index(Staff)], Method::GET, &request.path, None).await;
            if after.status.as_u16() != 404 {
                problems.push(format!("the record is still readable after DELETE: {} {}", after.status, after.body));
            }
        }
        _ => problems.extend(check_success_body(target, method, request, response)),
    }
    problems
}

/// Checks the `detail` body (and for 401 the `WWW-Authenticate` header) of an error response.
fn check_error_body(target: Target, method: &Method, response: &Response) -> Vec<String> {
    let mut problems = Vec::new();
    let expected = match response.status.as_u16() {
        401 => {
            if response.header("www-authenticate") != Some("Token") {
                problems.push(format!("WWW-Authenticate {:?}, expected \"Token\"", response.header("www-authenticate")));
            }
            json!({"detail": "Authentication credentials were not provided."})
        }
        403 => json!({"detail": "You do not have permission to perform this action."}),
        404 => json!({"detail": format!("No {} matches the given query.", model_name(target))}),
        _ => json!({"detail": format!("Method \"{method}\" not allowed.")}),
    };
    if serde_json::from_str::<Value>(&response.body).ok() != Some(expected.clone()) {
        problems.push(format!("body {}, expected {expected}", response.body));
    }
    problems
}

/// Checks the body of a 200 or 201 response: metadata for OPTIONS, a page envelope for lists,
/// the addressed or created record otherwise, with the change that a PATCH sent.
fn check_success_body(target: Target, method: &Method, request: &Prepared, response: &Response) -> Vec<String> {
    let mut problems = Vec::new();
    let Ok(body) = serde_json::from_str::<Value>(&response.body) else {
        return vec![format!("body is not JSON: {}", response.body)];
    };

    match *method {
        Method::OPTIONS => {
            if body["renders"] != json!(["application/json"]) || !body["name"].is_string() {
                problems.push(format!("OPTIONS metadata lacks name or renders: {body}"));
            }
        }
        Method::GET if target == RoleChoices => {
            if body != json!({"OW": "Owner", "AD": "Admin", "MB": "Member"}) {
                problems.push(format!("role choices {body}"));
            }
        }
        Method::GET if request.id == 0 => {
            if !body["count"].is_i64() || !body["results"].is_array() {
                problems.push(format!("list body is not a page envelope: {body}"));
            }
        }
        Method::POST => {
            if !body["id"].is_i64() {
                problems.push(format!("created record has no id: {body}"));
            }
            if let Some(sent) = &request.body {
                for key in ["username", "name", "user", "team", "role"] {
                    if sent.get(key).is_some() && body[key] != sent[key] {
                        problems.push(format!("created record has {key} {}, sent {}", body[key], sent[key]));
                    }
                }
            }
        }
        _ => {
            if body["id"] != json!(request.id) {
                problems.push(format!("record id {}, expected {}", body["id"], request.id));
            }
        }
    }

    if *method == Method::PATCH {
        let (key, value) = match target {
            OtherUser | OwnUser | InactiveUser => ("first_name", json!("Patched")),
            ActiveTeam | InactiveTeam => ("is_active", json!(true)),
            _ => ("role", json!("AD")),
        };
        if body[key] != value {
            problems.push(format!("PATCH left {key} at {}, expected {value}", body[key]));
        }
    }
    problems
}

async fn run_matrix(backend: Backend) {
    let mut world = World::build(backend).await;
    let mut failures = Vec::new();
    let mut cells = 0;
    for (target, role, statuses) in MATRIX {
        for (method, expected) in METHODS.iter().zip(statuses) {
            let request = world.prepare(*target, *role, method).await;
            let response = send_request(&request.client, method.clone(), &request.path, request.body.as_ref()).await;
            for problem in check_response(&world, *target, method, *expected, &request, &response).await {
                failures.push(format!("{target:?} {role:?} {method} {}: {problem}", request.path));
            }
            cells += 1;
        }
    }
    println!("{backend:?}: checked {cells} cells");
    assert!(failures.is_empty(), "{backend:?}: {} of {cells} cells failed:\n{}", failures.len(), failures.join("\n"));
    world.db.close().await;
}

/// Checks that a detail id that is not an integer is a plain 404 for everyone signed in, and 401
/// without credentials, because authentication comes before the lookup.
async fn check_malformed_ids(backend: Backend) {
    let server = TestServer::start(backend).await;
    let db = server.storage().await;
    let staff = token_client(&server, &db, insert_user(&db, "staff", true, true).await).await;
    let outsider = token_client(&server, &db, insert_user(&db, "outsider", false, true).await).await;
    let anonymous = server.client();
    for path in ["/users/users/abc/", "/users/teams/abc/", "/users/memberships/abc/", "/users/users/1e3/", "/users/teams/-/"] {
        for (who, client) in [("staff", &staff), ("outsider", &outsider)] {
            for method in [Method::GET, Method::PATCH, Method::DELETE] {
                let body = (method == Method::PATCH).then(|| json!({}));
                let response = send_request(client, method.clone(), path, body.as_ref()).await;
                assert_eq!(response.status.as_u16(), 404, "{backend:?} {who} {method} {path}: {}", response.body);
                assert_eq!(response.json(), json!({"detail": "Not found."}), "{backend:?} {who} {method} {path}");
            }
        }
        let response = send_request(&anonymous, Method::GET, path, None).await;
        assert_eq!(response.status.as_u16(), 401, "{backend:?} anonymous GET {path}: {}", response.body);
    }
    db.close().await;
}

#[tokio::test]
async fn access_matrix_sqlite() {
    run_matrix(Backend::Sqlite).await;
}

#[tokio::test]
async fn access_matrix_postgres() {
    run_matrix(Backend::Postgres).await;
}

#[tokio::test]
async fn malformed_ids_sqlite() {
    check_malformed_ids(Backend::Sqlite).await;
}

#[tokio::test]
async fn malformed_ids_postgres() {
    check_malformed_ids(Backend::Postgres).await;
}
