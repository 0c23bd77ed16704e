//! Fuzzing the front door without cargo-fuzz: a seeded stream of hostile headers through
//! the token parsing (gRPC's base64 `authorization`, REST's `Bearer`), the login path
//! (gRPC caller, REST user, console user), and random users, databases, RPC names and
//! objects through the privilege check. A panic fails the test; so does any answer that
//! is not a clean admit or a clean refusal with Milvus's code and words, and any admit the
//! rules forbid:
//!
//! - only an exact `user:password` of an existing user logs in; the console only admits
//!   root and admins;
//! - an RPC missing from the table is refused to everyone, root included; one the table
//!   leaves unchecked is admitted to everyone;
//! - root and admins are admitted to every RPC in the table; a user that does not exist,
//!   to none that is checked (but their own user object);
//! - a user with random grants admitted on some objects is admitted on any subset of them.
//!
//! `QUIVER_FUZZ_SEED` (default [`DEFAULT_SEED`]) and `QUIVER_FUZZ_ITERATIONS` (default
//! [`DEFAULT_ITERATIONS`]) control the run; the seed is printed so a failure replays:
//!
//! ```text
//! QUIVER_FUZZ_SEED=7 QUIVER_FUZZ_ITERATIONS=200000 cargo test -p quiver-server access::fuzz -- --nocapture
//! ```
//!
//! Logins hash with argon2 (tens of milliseconds), so one input in [`LOGIN_EVERY`] goes
//! through the login path; parsing and the check see every input.

use super::*;
use quiver_engine::security::{Change, Grant};
use quiver_testkit::TestRng;

const DEFAULT_SEED: u64 = 0x5ec_0014;
const DEFAULT_ITERATIONS: u64 = 3_000;
const LOGIN_EVERY: u64 = 25;
const ORIGIN: Origin = Origin { peer: None, rpc: "Fuzz" };

/// The users the check is asked about: root, an admin, a user with random grants, one
/// that does not exist.
const ADMIN: &str = "ada";
const GRANTED: &str = "eve";
const GHOST: &str = "ghost";
const PASSWORDS: [(&str, &str); 3] = [("root", "Milvus"), (ADMIN, "adapass1"), (GRANTED, "evepass1")];

fn knob(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| panic!("{name}={value:?} is not a number")),
        Err(_) => default,
    }
}

/// Header-value soup: pieces of real tokens and separators, and random bytes.
fn soup(rng: &mut TestRng) -> Vec<u8> {
    const PIECES: [&[u8]; 18] = [
        b"root",
        b":",
        b"Milvus",
        b"eve",
        b"evepass1",
        b"ada",
        b"adapass1",
        b"Bearer ",
        b"bearer ",
        b"=",
        b"\xff\xfe",
        b"%00",
        b"::",
        b"\n",
        b"YWJj",
        b" ",
        b"\t",
        b"\xc3\xa9",
    ];
    let mut raw = Vec::new();
    for _ in 0..rng.below(7) {
        raw.extend_from_slice(PIECES[rng.index(PIECES.len())]);
    }
    for _ in 0..rng.below(4) {
        raw.push(rng.below(256) as u8);
    }
    raw
}

fn headers(pairs: &[(&str, Vec<u8>)]) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_bytes(value)) {
            map.append(name, value);
        }
    }
    map
}

fn refusal_is_clean(refusal: &tonic::Status) {
    assert_eq!(refusal.code(), tonic::Code::Unauthenticated, "{refusal:?}");
    let known = ["missing authorization in header", "invalid token format", "auth check failure"];
    assert!(known.iter().any(|k| refusal.message().starts_with(k)), "{refusal:?}");
}

fn is_valid_login(text: &str) -> bool {
    PASSWORDS.iter().any(|(user, password)| text == format!("{user}:{password}"))
}

#[tokio::test]
async fn hostile_tokens_and_checks_admit_or_refuse_cleanly() {
    let seed = knob("QUIVER_FUZZ_SEED", DEFAULT_SEED);
    let iterations = knob("QUIVER_FUZZ_ITERATIONS", DEFAULT_ITERATIONS);
    eprintln!("access fuzz: seed {seed}, {iterations} inputs (QUIVER_FUZZ_SEED={seed} replays)");
    let dir = tempfile::tempdir().unwrap();
    let access = super::tests::access(dir.path()).await;
    let security = access.engine.security();
    for (user, password) in &PASSWORDS[1..] {
        security.create_user(user, password).await.unwrap();
    }
    security.operate_user_role(ADMIN, quiver_engine::security::ADMIN_ROLE, Change::Add).await.unwrap();
    security.create_role("fuzzed").await.unwrap();
    security.operate_user_role(GRANTED, "fuzzed", Change::Add).await.unwrap();
    let mut rng = TestRng::new(seed);
    let privileges: Vec<&str> = PRIVILEGES.iter().filter_map(|(_, rule)| rule.map(|r| r.privilege)).collect();
    let groups = ["CollectionReadOnly", "CollectionReadWrite", "CollectionAdmin", "DatabaseAdmin", "ClusterReadOnly", "*"];
    for _ in 0..8 {
        let privilege = if rng.chance(0.3) { *rng.pick(&groups) } else { *rng.pick(&privileges) };
        let grant = Grant {
            object_type: rng.pick(&["Collection", "Global", "User"]).to_string(),
            object_name: rng.pick(&["*", "c1", "c2"]).to_string(),
            db_name: rng.pick(&["*", "default", "db1"]).to_string(),
            privilege: privilege.to_string(),
            grantor: "root".into(),
        };
        // A grant the engine refuses (say, a group on the wrong object type) is no input.
        let _ = security.operate_grant("fuzzed", grant, Change::Add).await;
    }
    let rpcs: Vec<&str> = PRIVILEGES.iter().map(|(name, _)| *name).collect();
    for iteration in 0..iterations {
        let raw = soup(&mut rng);
        let text = String::from_utf8_lossy(&raw).into_owned();
        let value = match rng.below(3) {
            0 => base64::engine::general_purpose::STANDARD.encode(&raw).into_bytes(),
            1 => [b"Bearer ".as_slice(), &raw].concat(),
            _ => raw.clone(),
        };
        let name = *rng.pick(&["authorization", "Authorization", "dbname", "x-other"]);
        let mut pairs = vec![(name, value)];
        if rng.chance(0.1) {
            pairs.push(("authorization", soup(&mut rng)));
        }
        let h = headers(&pairs);
        let context = format!("seed {seed} iteration {iteration}: headers {h:?}");

        match grpc_credentials(&h) {
            Ok(credentials) => assert!(h.contains_key("authorization"), "{context}: credentials {credentials:?} from nowhere"),
            Err(refusal) => refusal_is_clean(&refusal),
        }
        match rest_credentials(&h) {
            Ok(credentials) => assert!(!credentials.starts_with(char::is_whitespace), "{context}: {credentials:?}"),
            Err(refusal) => refusal_is_clean(&refusal),
        }
        if iteration % LOGIN_EVERY == 0 {
            let logins = [
                access.grpc_caller(&h, ORIGIN).await.map(|caller| caller.user),
                access.rest_user(&h, ORIGIN).await,
                access.console_user(&h, ORIGIN).await,
            ];
            for (path, login) in ["grpc", "rest", "console"].iter().zip(logins) {
                match login {
                    Ok(user) => {
                        let user = user.expect("authorization is on");
                        let token = if *path == "grpc" { grpc_credentials(&h) } else { rest_credentials(&h) }.unwrap();
                        assert!(is_valid_login(&token), "{context}: {path} logged {token:?} in as {user}");
                        assert!(*path != "console" || user == "root" || user == ADMIN, "{context}: console admitted {user}");
                    }
                    Err(refusal) if refusal.code() == tonic::Code::PermissionDenied => {
                        assert_eq!(*path, "console", "{context}: {refusal:?}");
                    }
                    Err(refusal) => refusal_is_clean(&refusal),
                }
            }
        }

        let user = match rng.below(5) {
            0 => "root".to_string(),
            1 => ADMIN.to_string(),
            2 | 3 => GRANTED.to_string(),
            _ if rng.chance(0.5) => GHOST.to_string(),
            _ => text.clone(),
        };
        let db = rng.pick(&["default", "db1", "", &text]).to_string();
        let mut rpc = rng.pick(&rpcs).to_string();
        if rng.chance(0.1) {
            rpc = if rng.chance(0.5) { format!("{rpc}{}", rng.below(128) as u8 as char) } else { text.clone() };
        }
        let candidates = ["c1", "c2", "*", "", GRANTED, "root", text.as_str()];
        let objects: Vec<&str> = (0..rng.below(4)).map(|_| *rng.pick(&candidates)).collect();
        let context = format!("seed {seed} iteration {iteration}: {user:?} {rpc:?} on {objects:?} in {db:?}");
        let answer = access.check(&user, &db, &rpc, &objects);
        if let Err(refusal) = &answer {
            assert_eq!(refusal.code(), tonic::Code::PermissionDenied, "{context}");
            assert!(refusal.message().contains(&format!("permission deny to {user} in the `{db}` database")), "{context}: {refusal:?}");
        }
        match rule_of(&rpc) {
            None => assert!(answer.is_err(), "{context}: an RPC missing from the table was admitted"),
            Some(None) => assert!(answer.is_ok(), "{context}: an unchecked RPC was refused"),
            Some(Some(_)) if user == "root" || user == ADMIN => assert!(answer.is_ok(), "{context}: refused to {user}"),
            Some(Some(rule)) if user != GRANTED && user != "root" && user != ADMIN => {
                let own = rule.object == ObjectKind::User && objects.contains(&user.as_str());
                assert_eq!(answer.is_ok(), own, "{context}: a user without grants");
            }
            Some(Some(rule)) => {
                // A user object is admitted whole when it is the caller's own, so subsets
                // of it may be refused; every other kind needs each object admitted.
                if answer.is_ok() && rule.object != ObjectKind::User {
                    for subset in objects.iter().map(|o| vec![*o]) {
                        assert!(access.check(&user, &db, &rpc, &subset).is_ok(), "{context}: admitted on all, refused on {subset:?}");
                    }
                }
            }
        }
    }
}
