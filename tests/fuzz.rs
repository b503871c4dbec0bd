//! Fuzz targets, as proptest generators with a bounded number of cases so that they run in the
//! test command: every parser and reader of user input or saved state is fed random and mutated
//! input and must answer with a value or an error, never a panic. A new panic fails CI; the
//! failing input is printed by proptest (and shrunk), ready to become a regression test in
//! tests/robust.rs. `BASINMAP_FUZZ_CASES=200000 cargo test --release --test fuzz` fuzzes longer.

use basinmap::formula::{Compiled, Definition, Source};
use basinmap::scenario::Scenario;
use proptest::prelude::*;

/// Text made of the formula language's pieces, so most cases get past the lexer.
fn formula_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("x".to_string()),
        Just("y".to_string()),
        Just("r".to_string()),
        Just("+".to_string()),
        Just("-".to_string()),
        Just("*".to_string()),
        Just("/".to_string()),
        Just("^".to_string()),
        Just("**".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(",".to_string()),
        Just(";".to_string()),
        Just("exp(".to_string()),
        Just("log(".to_string()),
        Just("sqrt(".to_string()),
        Just("max(".to_string()),
        Just("abs(".to_string()),
        Just("tanh(".to_string()),
        Just("pi".to_string()),
        Just("1e39".to_string()),
        Just("0".to_string()),
        Just(" ".to_string()),
        (0.0f64..1e6).prop_map(|v| format!("{v}")),
        "[ -~]{1,3}",
    ];
    prop::collection::vec(piece, 0..60).prop_map(|p| p.concat())
}

/// Valid scenario files, to be mutated.
const SCENARIOS: [&str; 7] = [
    "title = 't'\nsystem = 'landau'\nx = 'r=-0.25:0.5:8'\ny = 'm=-1.5:1.5:8'\n[params]\nu = -1.0\nw = 1.0\n[dynamics]\nmethod = 'gd'\nlr = 0.01\nsteps = 100\ntol = 1e-5\n",
    "x = 'a=-1:1:4'\ny = 'x=-2:2:4'\n[system]\nstate = ['x']\nloss = '(x - a)^2'\n",
    "system = 'mlp'\nx = 'lr1=0.1:10:4:log'\ny = 'lr2=0.1:10:4:log'\nshared_init = true\n[params]\nd0 = 4\n[network]\nactivation = 'tanh'\nn = 8\n",
    "system = 'effective'\nx = 'gamma=0.01:0.4:4'\ny = 'b=-1.5:1.5:4'\n[params]\nD = 2\n[classify]\nmax_attractors = 4\n",
    "x = 'x=-2:2:4'\ny = 'lr=0.01:1:4:log'\n[system]\nstate = ['x']\nloss = '(x^2 - 1)^2'\n[starts]\nuniform = 50\n",
    "x = 'phi=-3:3:4'\n[system]\nstate = ['phi', 'w']\nfield = ['w', '-sin(phi)']\nperiodic = ['phi=2*pi']\n[dynamics]\nmethod = 'rk4'\n[classify]\nchaos_window = 100\nlyapunov = true\n",
    "x = 'x=-2:2:3'\ny = 'v=-2:2:3'\n[system]\nstate = ['x', 'v']\nfield = ['v', 'g*cos(t) - v - x^3']\nforcing_period = '2*pi/1.5'\n[params]\ng = 0.3\n[dynamics]\nmethod = 'rk4'\ndt = 0.05\nsteps = 200\n",
];

/// A valid scenario with one span of its text replaced by random text.
fn mutated_scenario() -> impl Strategy<Value = String> {
    (0..SCENARIOS.len(), any::<prop::sample::Index>(), 0usize..12, "[ -~\n]{0,12}").prop_map(|(k, at, len, with)| {
        let s = SCENARIOS[k];
        let start = at.index(s.len());
        let end = (start + len).min(s.len());
        format!("{}{with}{}", &s[..start], &s[end..])
    })
}

proptest! {
    // 1 500 cases each in the test command; BASINMAP_FUZZ_CASES=N for a longer run.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("BASINMAP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_formula_compiler_never_panics(text in formula_text()) {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let _ = basinmap::formula::parse::parse_list(&text);
        let _ = Compiled::new(&Definition::Loss(Source::new("--loss", text.clone())), &names(&["x", "y"]), &names(&["r"]));
        let _ = Compiled::new(&Definition::Field(vec![Source::new("--field", text)]), &names(&["x", "y"]), &names(&["r"]));
    }

    #[test]
    fn scenarios_are_parsed_and_resolved_without_panics(text in mutated_scenario()) {
        if let Ok(s) = Scenario::from_toml(&text) {
            // Resolving sizes and checks everything; no engine runs.
            let _ = basinmap::plan::Plan::new(&s);
        }
    }

    #[test]
    fn npy_bytes_are_read_without_panics(
        descr in prop_oneof![
            Just("<f8".to_string()),
            Just("<f4".to_string()),
            Just("<i4".to_string()),
            Just("|u1".to_string()),
            Just("<c16".to_string()),
            Just("|O".to_string()),
            "[<>|][a-z][0-9]{1,2}",
        ],
        shape in "\\((([0-9]{1,20}, ?){0,3}[0-9]{0,20})?\\)",
        fortran in any::<bool>(),
        version in 0u8..4,
        data in prop::collection::vec(any::<u8>(), 0..200),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}", if fortran { "True" } else { "False" });
        header.push('\n');
        let mut bytes = b"\x93NUMPY".to_vec();
        bytes.push(version);
        bytes.push(0);
        if version == 1 {
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            bytes.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&data);
        let _ = basinmap::io::npy::parse_npy(&bytes);
        let _ = basinmap::io::npy::parse_npy(&bytes[..cut.index(bytes.len() + 1)]);
    }

    #[test]
    fn starts_files_are_read_without_panics(text in "[0-9a-z.,#\n \"eE+\\-\\[\\]]{0,200}", shape in prop::collection::vec(0usize..6, 0..3), values in prop::collection::vec(-1e3f64..1e3, 0..12)) {
        let _ = basinmap::starts::parse_csv(text.as_bytes());
        let _ = basinmap::starts::columns_of_array(&shape, &values, &["x", "y"]);
        let _ = basinmap::starts::columns_of_array(&shape, &values, &["x"]);
    }

    #[test]
    fn csv_data_is_read_without_panics(x in "[0-9eE.,;+\\- \t\n#a-z\u{feff}]{0,200}", y in "[0-9.,\n-]{0,60}") {
        let dir = tempfile::tempdir().unwrap();
        let (xp, yp) = (dir.path().join("x.csv"), dir.path().join("y.csv"));
        std::fs::write(&xp, x).unwrap();
        std::fs::write(&yp, y).unwrap();
        let _ = basinmap::system::network::data::DataSet::load(&xp, &yp);
    }
}

/// A shard of a small heavy-ball map (whose parts carry memory.npy), computed once.
fn momentum_shard() -> &'static std::path::Path {
    static SHARD: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    SHARD
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let s = Scenario::from_toml("engine='cpu'\nx='lr=1.2:1.75:4'\ny='x=0.6:1.4:3'\n[system]\nstate=['x']\nloss='x^4/4 - x^2/2'\n[dynamics]\nmethod='momentum'\nmomentum=0.5\nsteps=400\ntol=1e-7").unwrap();
            basinmap::shard::run_shard(&s, 1, 1, dir.path(), &basinmap::run::Silent, false).unwrap();
            dir
        })
        .path()
}

proptest! {
    // Each case that survives merges and writes a whole map: fewer cases.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("BASINMAP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).map_or(300, |n: u32| n / 5),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// A shard whose arrays were changed and their checksums updated to match (so that the
    /// changes reach the parser and the checks after it): `merge` reads it or refuses it.
    #[test]
    fn shards_are_read_without_panics(
        file in prop_oneof![Just("memory.npy"), Just("observables.npy"), Just("status.npy"), Just("steps.npy")],
        at in any::<prop::sample::Index>(),
        bytes in prop::collection::vec(any::<u8>(), 0..12),
        cut in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("part");
        std::fs::create_dir(&part).unwrap();
        for e in std::fs::read_dir(momentum_shard()).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), part.join(e.file_name())).unwrap();
        }
        let mut data = std::fs::read(part.join(file)).unwrap();
        let i = at.index(data.len() + 1);
        if cut {
            data.truncate(i);
        }
        for (k, b) in bytes.iter().enumerate() {
            if i + k < data.len() {
                data[i + k] = *b;
            } else {
                data.push(*b);
            }
        }
        std::fs::write(part.join(file), &data).unwrap();
        let json = std::fs::read_to_string(part.join("shard.json")).unwrap();
        let mut info: serde_json::Value = serde_json::from_str(&json).unwrap();
        info["crc32"][file] = crc32fast::hash(&data).into();
        std::fs::write(part.join("shard.json"), info.to_string()).unwrap();
        let _ = basinmap::shard::merge(&[part], &dir.path().join("merged"));
    }
}

/// `basinmap serve`'s routes, in-process, and a runtime to call them on (one for all cases).
fn serve_app() -> &'static (tokio::runtime::Runtime, axum::Router) {
    static APP: std::sync::OnceLock<(tokio::runtime::Runtime, axum::Router)> = std::sync::OnceLock::new();
    APP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        let server = basinmap::serve::Server::new(Scenario::default_map(), basinmap::serve::ServeOptions::default());
        (rt, basinmap::serve::router(server))
    })
}

/// A value's bytes percent-encoded for a URL's query.
fn percent(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// Query fields of serve's settings and its own, with values that parse and values that do not.
fn serve_fields() -> impl Strategy<Value = Vec<(String, String)>> {
    let key = prop::sample::select(vec![
        "x", "y", "param", "system", "loss", "field", "map", "state", "periodic", "forcing_period", "dynamics", "lr", "momentum", "beta1", "beta2", "eps", "weight_decay", "dt", "steps", "tol", "bound",
        "precision", "temperature", "escape", "samples", "seed", "shared_init", "lyapunov", "continue_untrained", "activation", "gain", "parameterisation", "engine", "observe", "show", "u", "v", "z",
        "tx0", "tx1", "nosuch", "",
    ]);
    let value = prop_oneof![
        Just("r=-1:1:8".to_string()),
        Just("m=0:1:1e12".to_string()),
        Just("lr=1e-9:1e9:64:log".to_string()),
        Just("u=-1".to_string()),
        Just("h=1,2".to_string()),
        Just("mlp".to_string()),
        Just("adam".to_string()),
        Just("true".to_string()),
        Just("NaN".to_string()),
        Just("1e308".to_string()),
        Just("-0".to_string()),
        Just("18446744073709551616".to_string()),
        any::<f64>().prop_map(|v| v.to_string()),
        any::<u32>().prop_map(|v| v.to_string()),
        "[ -~]{0,12}",
    ];
    prop::collection::vec((key.prop_map(String::from), value), 0..6)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("BASINMAP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1500) / 3,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The server's query parsing: random settings on the routes that make a view but compute
    /// nothing (export; a pixel of tiles not computed): an answer, never a panic or a 5xx.
    #[test]
    fn serve_queries_are_answered_without_panics(fields in serve_fields(), route in 0usize..2, z in 0u32..50, raw in prop::option::of("[ -~]{0,16}")) {
        use tower::ServiceExt;
        let mut query: Vec<String> = fields.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect();
        // Raw text, in half of the cases (a field it names is most often unknown, and refused
        // before a view is made), keeps its separators and escapes (a bad escape among them).
        if let Some(raw) = raw {
            query.push(raw.bytes().map(|b| if b.is_ascii_alphanumeric() || b"=&%-._~+".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect());
        }
        let place = match route {
            0 => format!("/api/export?z={z}&tx0=0&tx1=0&ty0=0&ty1=0"),
            _ => format!("/api/pixel?u=0.5&v=0.5&z={z}"),
        };
        let uri = format!("{place}&{}", query.join("&"));
        let (rt, app) = serve_app();
        let Ok(request) = axum::http::Request::get(&uri).body(axum::body::Body::empty()) else { return Ok(()) };
        let status = rt.block_on(app.clone().oneshot(request)).unwrap().status();
        prop_assert!(status.as_u16() < 500, "{uri}: {status}");
    }
}
