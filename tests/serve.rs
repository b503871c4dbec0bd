//! `basinmap serve`: its HTTP API called in-process (the router, as the server runs it) and over
//! a real socket; the map API against `basinmap run`, attractor ids across tiles and zooms, bad
//! requests, bounded concurrency, and a computation stopped when its client goes away.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use basinmap::scenario::Scenario;
use basinmap::render::side::MISSING;
use basinmap::serve::view::{View, TILE};
use basinmap::serve::{router, ServeOptions, Server};
use std::sync::Arc;
use tower::ServiceExt;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn app(options: ServeOptions) -> (Router, Arc<Server>) {
    let server = Server::new(Scenario::default_map(), options);
    (router(server.clone()), server)
}

async fn get(app: &Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let r = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
    let status = r.status();
    (status, axum::body::to_bytes(r.into_body(), usize::MAX).await.unwrap().to_vec())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(bytes)))
}

#[test]
fn the_map_api_answers_the_bytes_basinmap_run_writes() {
    let rt = runtime();
    let (app, _) = app(ServeOptions::default());
    let axes = [("x", "r=-0.25:0.5:64"), ("y", "m=-1.5:1.5:48")];
    let mut scenario = Scenario::default_map();
    scenario.x = axes[0].1.parse().unwrap();
    scenario.y = Some(axes[1].1.parse().unwrap());
    scenario.params.insert("h".into(), basinmap::scenario::ParamValue::Scalar(0.05));
    let dir = tempfile::tempdir().unwrap();
    basinmap::run::execute(&scenario, dir.path()).unwrap();
    for array in ["labels", "steps"] {
        let (status, body) = rt.block_on(get(&app, &format!("/api/map?x={}&y={}&param=h=0.05&array={array}", axes[0].1, axes[1].1)));
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let file = std::fs::read(dir.path().join(format!("{array}.npy"))).unwrap();
        assert!(body == file, "{array}.npy from the API differs from basinmap run's ({} vs {} bytes)", body.len(), file.len());
    }
}

#[test]
fn an_attractor_keeps_its_id_on_every_tile_and_zoom() {
    let view = View::new(Scenario::default_map(), 1 << 30).unwrap();
    let never = || false;
    let top = view.tile((0, 0, 0), &never).unwrap();
    let seeded = view.legend().len();
    assert!(seeded >= 3, "the default map has at least three attractors: {:?}", view.legend());
    // Each pixel of a deeper tile against the zoom-0 pixel its centre lies in: away from the
    // boundaries they must carry the same id.
    let mut agree = 0usize;
    let mut total = 0usize;
    for (z, tx, ty) in [(1, 0, 0), (1, 1, 0), (1, 0, 1), (1, 1, 1), (3, 3, 4), (3, 5, 2)] {
        let tile = view.tile((z, tx, ty), &never).unwrap();
        for row in 0..TILE {
            for col in 0..TILE {
                let u = (tx as f64 + (col as f64 + 0.5) / TILE as f64) / (1u64 << z) as f64;
                let v = (ty as f64 + (row as f64 + 0.5) / TILE as f64) / (1u64 << z) as f64;
                let (_, c0, r0) = view.locate(u, v, 0).unwrap();
                let here = tile.labels[(TILE - 1 - row) * TILE + col];
                let there = top.labels[(TILE - 1 - r0) * TILE + c0];
                agree += (here == there) as usize;
                total += 1;
            }
        }
    }
    let share = agree as f64 / total as f64;
    assert!(share > 0.98, "only {:.2} % of deeper pixels carry their zoom-0 pixel's id", 100.0 * share);
    assert_eq!(view.legend().len(), seeded, "no new attractor on the default map's deeper tiles: {:?}", view.legend());
    // Past f32's resolution the tiles are f64 and still carry the view's ids.
    let f64_from = view.f64_from.expect("the default map can be computed in f64");
    let deep = view.tile((f64_from, 1 << (f64_from - 1), 1 << (f64_from - 2)), &never).unwrap();
    assert!(deep.f64);
    assert!(deep.labels.iter().all(|&l| (l as usize) < view.legend().len()));
}

#[test]
fn the_page_tiles_and_api_answer() {
    let rt = runtime();
    let (app, server) = app(ServeOptions::default());
    rt.block_on(async {
        let (status, page) = get(&app, "/").await;
        assert_eq!(status, StatusCode::OK);
        assert!(text(&page).contains(r#"<script src="/openseadragon.min.js">"#));
        let (status, script) = get(&app, "/openseadragon.min.js").await;
        assert_eq!(status, StatusCode::OK);
        assert!(script.len() > 100_000);
        let (status, png) = get(&app, "/tile/0/0/0").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&png));
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (256, 256));
        let colours: std::collections::HashSet<_> = img.pixels().map(|p| p.0).collect();
        assert!(colours.len() > 3);
        let (status, body) = get(&app, "/api/view").await;
        assert_eq!(status, StatusCode::OK);
        let info = json(&body);
        assert_eq!(info["x"]["name"], "r");
        assert_eq!(info["y"]["name"], "m");
        assert!(info["levels"].as_u64().unwrap() > info["f64_from"].as_u64().unwrap());
        assert!(info["legend"].as_array().unwrap().len() >= 3);
        // The pixel under a point, and that start's trajectory, end in the same place.
        let (status, body) = get(&app, "/api/pixel?u=0.9&v=0.1&z=0").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let pixel = json(&body);
        let (status, body) = get(&app, "/api/trajectory?u=0.9&v=0.1&z=0").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let t = json(&body);
        assert_eq!(t["x"], pixel["x"]);
        assert_eq!(t["y"], pixel["y"]);
        assert_eq!(t["status"], pixel["status"]);
        let last = t["values"].as_array().unwrap().last().unwrap()[0].as_f64().unwrap();
        let end = pixel["observables"][0].as_f64().unwrap();
        assert!((last - end).abs() <= 1e-4 * (1.0 + end.abs()), "trace ends at m = {last}, the tile's pixel at {end}");
        // The same past f32's depth: the tile in f64, and the trace too.
        let z = info["f64_from"].as_u64().unwrap();
        let n = 1u64 << z;
        let (tx, ty) = ((0.9 * n as f64) as u64, (0.1 * n as f64) as u64);
        let r = app.clone().oneshot(Request::get(format!("/tile/{z}/{tx}/{ty}")).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["x-basinmap-precision"], "f64");
        let (status, body) = get(&app, &format!("/api/pixel?u=0.9&v=0.1&z={z}")).await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let deep = json(&body);
        assert_eq!(deep["f64"], true);
        let (status, body) = get(&app, &format!("/api/trajectory?u=0.9&v=0.1&z={z}")).await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        let t = json(&body);
        assert_eq!(t["status"], deep["status"]);
        let steps = t["steps"].as_array().unwrap().last().unwrap().as_u64().unwrap();
        assert_eq!(steps, deep["steps"].as_u64().unwrap(), "the f64 trace takes the f64 tile's steps");
        for (key, v) in [("steps", "steps"), ("show m", "m")] {
            let (status, body) = get(&app, &format!("/tile/0/0/0?show={v}")).await;
            assert_eq!(status, StatusCode::OK, "{key}: {}", text(&body));
        }
        // A view's axes take their COUNT from the tile: a huge one is not allocated.
        let (status, body) = get(&app, "/api/view?x=r=-0.25:0.5:100000000000000").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&body));
        // A setting makes another view; the same settings in another order, the same one.
        assert_eq!(get(&app, "/tile/0/0/0?param=h=0.1&lr=0.05").await.0, StatusCode::OK);
        assert_eq!(get(&app, "/tile/0/0/0?lr=0.05&param=h=0.1").await.0, StatusCode::OK);
        assert_eq!(server.status().views, 3);
    });
}

#[test]
fn export_gives_the_scenario_whose_run_is_the_tiles_in_view() {
    let rt = runtime();
    let (app, _) = app(ServeOptions::default());
    let view = View::new(Scenario::default_map(), 1 << 30).unwrap();
    let (status, body) = rt.block_on(get(&app, "/api/export?z=1&tx0=0&tx1=1&ty0=1&ty1=1"));
    assert_eq!(status, StatusCode::OK, "{}", text(&body));
    let exported = Scenario::from_toml(&text(&body)).unwrap();
    assert_eq!(exported.x.count, 2 * TILE);
    let y = exported.y.as_ref().unwrap();
    assert_eq!(y.count, TILE);
    // The first and last pixel centres are the tiles' own, to the bit.
    let (x0, y0) = view.centre((1, 0, 1), 0, TILE - 1);
    let (x1, y1) = view.centre((1, 1, 1), TILE - 1, 0);
    assert_eq!((exported.x.start, exported.x.stop, y.start, y.stop), (x0, x1, y0, y1));
    // And its labels split the map as the tiles do.
    let map = basinmap::run::compute(&exported, &basinmap::run::Silent).unwrap();
    let never = || false;
    let tiles = [view.tile((1, 0, 1), &never).unwrap(), view.tile((1, 1, 1), &never).unwrap()];
    let mut pairs = std::collections::HashMap::new();
    let mut consistent = 0usize;
    for iy in 0..TILE {
        for ix in 0..2 * TILE {
            let run = map.classification.labels[iy * 2 * TILE + ix];
            let tile = tiles[ix / TILE].labels[iy * TILE + ix % TILE];
            consistent += (*pairs.entry(run).or_insert(tile) == tile) as usize;
        }
    }
    assert!(consistent as f64 >= 0.999 * (2 * TILE * TILE) as f64, "{consistent} of {} pixels", 2 * TILE * TILE);
}

#[test]
fn bad_requests_get_a_4xx_with_a_message() {
    let rt = runtime();
    let (app, _) = app(ServeOptions { max_map_pixels: 1 << 16, ..Default::default() });
    rt.block_on(async {
        for (uri, expected) in [
            ("/api/map?x=r=1:2", StatusCode::BAD_REQUEST),
            ("/api/map?x=r=0:1:10&y=m=0:1:10&param=nosuch=1", StatusCode::BAD_REQUEST),
            ("/api/map?x=r=0:1:1000&y=m=0:1:1000", StatusCode::PAYLOAD_TOO_LARGE),
            ("/api/map?x=r=0:1:100000000000&y=m=0:1:100000000000", StatusCode::PAYLOAD_TOO_LARGE),
            ("/api/map?x=r=0:1:10&y=m=0:1:10&array=nosuch", StatusCode::BAD_REQUEST),
            ("/api/map?foo=1", StatusCode::BAD_REQUEST),
            ("/api/map?wgsl=/etc/passwd", StatusCode::BAD_REQUEST),
            ("/api/map?lr=abc", StatusCode::BAD_REQUEST),
            ("/api/map?loss=r*m%5E2+%2B", StatusCode::BAD_REQUEST),
            ("/tile/99/0/0", StatusCode::BAD_REQUEST),
            ("/tile/1/5/0", StatusCode::BAD_REQUEST),
            ("/tile/a/0/0", StatusCode::BAD_REQUEST),
            ("/tile/0/0/0?show=nosuch", StatusCode::BAD_REQUEST),
            ("/tile/0/0/0?y=none", StatusCode::BAD_REQUEST),
            ("/tile/0/0/0?x=r=1:1:10", StatusCode::BAD_REQUEST),
            ("/api/pixel?u=2&v=0&z=0", StatusCode::BAD_REQUEST),
            ("/api/pixel?u=0.5&v=0.5", StatusCode::BAD_REQUEST),
            ("/api/trajectory?u=NaN&v=0&z=0", StatusCode::BAD_REQUEST),
            ("/api/export?z=0&tx0=0&tx1=3&ty0=0&ty1=0", StatusCode::BAD_REQUEST),
            ("/api/export?z=37&tx0=0&tx1=137438953471&ty0=0&ty1=137438953471", StatusCode::BAD_REQUEST),
            ("/api/view?samples=100000", StatusCode::BAD_REQUEST),
            ("/nope", StatusCode::NOT_FOUND),
        ] {
            let (status, body) = get(&app, uri).await;
            let message = text(&body);
            assert_eq!(status, expected, "{uri}: {message}");
            assert!(!message.trim().is_empty() && message.trim().lines().count() == 1, "{uri}: one line, not {message:?}");
        }
    });
}

#[test]
fn computations_at_once_are_bounded_and_the_rest_refused() {
    let rt = runtime();
    // One worker and one waiting place: of eight tiles asked at once, some are refused (503
    // with Retry-After), none fails otherwise, and those let through all come.
    let (app, server) = app(ServeOptions { workers: 1, queue: 1, ..Default::default() });
    rt.block_on(async {
        assert_eq!(get(&app, "/tile/0/0/0").await.0, StatusCode::OK);
        let asks: Vec<_> = (0..8u64).map(|i| tokio::spawn({
            let app = app.clone();
            async move { get(&app, &format!("/tile/3/{i}/2")).await.0 }
        })).collect();
        let mut answers = Vec::new();
        for a in asks {
            answers.push(a.await.unwrap());
        }
        let ok = answers.iter().filter(|&&s| s == StatusCode::OK).count();
        let busy = answers.iter().filter(|&&s| s == StatusCode::SERVICE_UNAVAILABLE).count();
        assert_eq!(ok + busy, 8, "{answers:?}");
        assert!(ok >= 1 && busy >= 1, "{answers:?}");
    });
    assert_eq!(server.status().computing, 0);
    assert_eq!(server.status().waiting, 0);
}

#[test]
fn a_computation_stops_when_its_client_goes_away() {
    use std::io::Write;
    let rt = runtime();
    let server = Server::new(Scenario::default_map(), ServeOptions::default());
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(server.clone());
    rt.spawn(async move { axum::serve(listener, app).await });
    // A map that takes a minute or more (2^22 trajectories of 20000 steps, tol 0: none stops
    // early), asked for and left.
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    write!(socket, "GET /api/map?x=r=-0.25:0.5:2048&y=m=-1.5:1.5:2048&tol=0&steps=20000 HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let t0 = std::time::Instant::now();
    while server.status().computing == 0 {
        assert!(t0.elapsed().as_secs() < 20, "the computation never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    drop(socket);
    while server.status().computing > 0 {
        assert!(t0.elapsed().as_secs() < 30, "the computation went on after its client left: {:?}", server.status());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(server.status().stopped, 1);
}

#[test]
fn warming_computes_the_first_view_and_a_tile_asked_for_twice_at_once_is_computed_once() {
    let rt = runtime();
    let (served, server) = app(ServeOptions::default());
    let app = served;
    rt.block_on(async {
        // Zooms 0 and 1 warmed: their five tiles computed once each and cached; asking for
        // them then computes nothing.
        server.clone().warm(1).await;
        let warmed = server.status().tiles_computed;
        assert_eq!(warmed, 5, "tiles computed");
        for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            assert_eq!(get(&app, &format!("/tile/1/{x}/{y}")).await.0, StatusCode::OK);
        }
        assert_eq!(get(&app, "/api/view").await.0, StatusCode::OK);
        assert_eq!(server.status().tiles_computed, warmed);
        // Two requests for one tile at once: one computation, the same picture.
        let (a, b) = tokio::join!(get(&app, "/tile/4/5/7"), get(&app, "/tile/4/5/7"));
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
        assert!(a.1 == b.1, "the two answers differ");
        assert_eq!(server.status().tiles_computed, warmed + 1);
    });
    // A request waiting for another's computation of its tile holds no worker: with one worker
    // and no queue, a second worker-seeking request would be turned away (503).
    let (one, server) = self::app(ServeOptions { workers: 1, queue: 0, ..ServeOptions::default() });
    rt.block_on(async {
        let (a, b) = tokio::join!(get(&one, "/tile/2/1/3"), get(&one, "/tile/2/1/3"));
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK), "{} / {}", text(&a.1), text(&b.1));
        assert!(a.1 == b.1, "the two answers differ");
        assert_eq!(server.status().tiles_computed, 2, "the zoom-0 tile and the asked one, once each");
    });
}

/// A PNG answer's pixels.
fn rgb(png: &[u8]) -> image::RgbImage {
    image::load_from_memory(png).unwrap_or_else(|e| panic!("not a PNG ({e}): {}", text(png))).to_rgb8()
}

/// The names a view offers to show.
fn shows(view: &serde_json::Value) -> Vec<String> {
    view["shows"].as_array().expect("shows").iter().map(|s| s[0].as_str().unwrap().to_string()).collect()
}

#[test]
fn the_lyapunov_layer_paints_the_sign_of_the_exponent_run_computes() {
    let rt = runtime();
    // The served map asks for λ₁; lyapunov=false takes it away.
    let mut base = Scenario::default_map();
    base.classify.lyapunov = true;
    let server = Server::new(base.clone(), ServeOptions::default());
    let app = router(server);
    let (png, view, off) = rt.block_on(async {
        let (status, view) = get(&app, "/api/view").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&view));
        let (status, png) = get(&app, "/tile/0/0/0?show=lyapunov").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&png));
        let (status, off) = get(&app, "/api/view?lyapunov=false").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&off));
        assert_eq!(get(&app, "/tile/0/0/0?lyapunov=false&show=lyapunov").await.0, StatusCode::BAD_REQUEST);
        // A switch mentioned twice is as its last mention sets it.
        for (query, on) in [("lyapunov=false&lyapunov=true", true), ("lyapunov=true&lyapunov=0", false)] {
            let (status, v) = get(&app, &format!("/api/view?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{}", text(&v));
            assert_eq!(shows(&json(&v)).contains(&"lyapunov".to_string()), on, "{query}");
        }
        (png, json(&view), json(&off))
    });
    assert!(shows(&view).contains(&"lyapunov".to_string()), "{view}");
    assert!(!shows(&off).contains(&"lyapunov".to_string()), "{off}");
    assert!(!shows(&view).contains(&"trainability".to_string()), "the default map is not a training map");
    // The zoom-0 tile's map run by basinmap, refined as tiles are: λ₁ < 0 blue (b > r), > 0
    // red, near 0 white, none grey.
    let scenario = View::new(base, 1 << 30).unwrap().tile_scenario((0, 0, 0));
    let options = basinmap::run::RunOptions { refine: true, ..Default::default() };
    let map = basinmap::run::compute_with(&scenario, &basinmap::run::Silent, &options).unwrap();
    let (img, lyapunov) = (rgb(&png), &map.outcomes.lyapunov);
    assert_eq!(lyapunov.len(), TILE * TILE);
    // Painted as lyapunov_annotated.png paints the same grid.
    let (painted, _) = map.lyapunov_image().expect("a map with exponents");
    assert!(img == painted, "the tile differs from the run's Lyapunov image");
    // The scale's reach, as lyapunov_annotated.png's: the largest λ₁, or the most negative
    // finite one up to 1.
    let (lo, hi) = lyapunov.iter().filter(|l| l.is_finite()).fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &l| (a.min(l), b.max(l)));
    let reach = hi.max(lo.abs().min(1.0)).max(1e-3);
    let (mut agree, mut negative, mut blue) = (0, 0, 0);
    for row in 0..TILE {
        for col in 0..TILE {
            let l = lyapunov[(TILE - 1 - row) * TILE + col];
            let [r, _, b] = img.get_pixel(col as u32, row as u32).0;
            negative += (l < 0.0) as usize;
            // Near 0 on the scale the colour is the white between blue and red (r = b).
            agree += match l {
                l if l.is_nan() => [r, b] == [MISSING[0], MISSING[2]],
                l if l.abs() < 0.02 * reach => r.min(b) > 200,
                l if l < 0.0 => b >= r,
                _ => r >= b,
            } as usize;
            blue += (l < -0.1 * reach && b > r + 40) as usize;
        }
    }
    assert!(negative > TILE * TILE / 2, "the default map's fixed points attract: λ₁ < 0 at {negative} pixels");
    assert!(agree as f64 >= 0.999 * (TILE * TILE) as f64, "{agree} of {} pixels painted by λ₁'s sign", TILE * TILE);
    assert!(blue > TILE * TILE / 4, "λ₁ well below 0 is blue: {blue} pixels");
}

#[test]
fn the_trainability_layer_is_the_runs_trainability_image() {
    let rt = runtime();
    let base = Scenario::from_file(std::path::Path::new("examples/trainability/unit.toml")).unwrap();
    let server = Server::new(base.clone(), ServeOptions::default());
    let app = router(server);
    let (png, view) = rt.block_on(async {
        let (status, view) = get(&app, "/api/view").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&view));
        let (status, png) = get(&app, "/tile/0/0/0?show=trainability").await;
        assert_eq!(status, StatusCode::OK, "{}", text(&png));
        (png, json(&view))
    });
    assert!(shows(&view).contains(&"trainability".to_string()), "{view}");
    // The zoom-0 tile against trainability.png of the same grid run by basinmap: the same class
    // (blue trained, red not, gold and purple) at every pixel, the same shade but for ties.
    let scenario = View::new(base, 1 << 30).unwrap().tile_scenario((0, 0, 0));
    let map = basinmap::run::compute(&scenario, &basinmap::run::Silent).unwrap();
    let (tile, run) = (rgb(&png), map.trainability_image().expect("a training map"));
    assert_eq!(tile.dimensions(), run.dimensions());
    let class = |p: [u8; 3]| (p[2] > p[0], p[0] > 200 && p[1] > 150 && p[2] < 50, p[0] < 140 && p[2] > 120 && p[1] < 60);
    let (mut same_class, mut same_shade) = (0, 0);
    for (a, b) in tile.pixels().zip(run.pixels()) {
        same_class += (class(a.0) == class(b.0)) as usize;
        same_shade += a.0.iter().zip(b.0).all(|(x, y)| x.abs_diff(y) <= 6) as usize;
    }
    let n = (TILE * TILE) as f64;
    assert!(same_class as f64 >= 0.999 * n, "{same_class} of {n} pixels in trainability.png's class");
    assert!(same_shade as f64 >= 0.95 * n, "{same_shade} of {n} pixels in trainability.png's shade");
}
