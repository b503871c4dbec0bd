//! Every kind of figure basinmap draws is rendered here and checked to be a valid, non-empty
//! image of the expected size in each format (PNG, SVG, PDF): raw maps, annotated maps, curves
//! of scans, traces, landscapes, sweeps and escape times; and their words read as a person
//! writes them.

use basinmap::analysis::execute::{kramers, sweep, SweepOptions};
use basinmap::io::OutputDir;
use basinmap::plan::Plan;
use basinmap::render::annotated::SIZE;
use basinmap::run::{execute, Silent};
use basinmap::scenario::Scenario;
use std::path::Path;

fn scenario(toml: &str) -> Scenario {
    Scenario::from_toml(&format!("engine='cpu'\n{toml}")).expect("valid scenario")
}

/// A PNG that decodes to `size` (when given) and holds more than one colour.
fn check_png(path: &Path, size: Option<(u32, u32)>) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).to_rgb8();
    if let Some(s) = size {
        assert_eq!(img.dimensions(), s, "{}", path.display());
    }
    let first = *img.get_pixel(0, 0);
    assert!(img.pixels().any(|p| *p != first), "{} is one flat colour", path.display());
}

/// A PDF of one page with its text as text (a font embedded).
fn check_pdf(path: &Path) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(bytes.starts_with(b"%PDF-") && bytes.len() > 2000, "{}", path.display());
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("/FontFile") || text.contains("/FontDescriptor"), "{}: no embedded font", path.display());
}

/// An SVG of `size` with drawn content (and the embedded map, for annotated ones).
fn check_svg(path: &Path, size: (u32, u32), embedded_map: bool) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(text.trim_start().starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{}", path.display());
    assert!(text.contains(&format!("width=\"{}\"", size.0)) && text.contains(&format!("height=\"{}\"", size.1)), "{}", path.display());
    assert!(text.matches("<polyline").count() + text.matches("<rect").count() + text.matches("<circle").count() > 5, "{} draws nothing", path.display());
    assert_eq!(text.contains("<image"), embedded_map, "{}", path.display());
}


/// The figure in `svg` matches its golden image tests/golden/`name`.png (rendered at 50 dpi):
/// at most 0.5 % of pixels differ by more than 48 in a channel, and the mean difference is under
/// 1 (anti-aliasing may move by a count across machines; a moved label or line fails).
/// `BASINMAP_BLESS=1` writes the golden image instead: look at it before committing it.
fn golden(svg: &Path, name: &str) {
    let text = std::fs::read_to_string(svg).unwrap();
    let png = basinmap::render::export::png(&text, 50.0).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(format!("{name}.png"));
    if std::env::var_os("BASINMAP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &png).unwrap();
        return;
    }
    let want = image::open(&path).unwrap_or_else(|e| panic!("{}: {e} (BASINMAP_BLESS=1 cargo test --release --test figures writes it)", path.display())).to_rgb8();
    let got = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(got.dimensions(), want.dimensions(), "{name}: size");
    let (mut differing, mut total) = (0usize, 0u64);
    for (a, b) in got.pixels().zip(want.pixels()) {
        let d = (0..3).map(|k| (a[k] as i32 - b[k] as i32).unsigned_abs()).max().unwrap();
        total += d as u64;
        differing += (d > 48) as usize;
    }
    let n = (got.width() * got.height()) as f64;
    if differing as f64 > 0.005 * n || total as f64 / n >= 1.0 {
        let seen = std::env::temp_dir().join(format!("basinmap-golden-{name}.png"));
        std::fs::write(&seen, &png).unwrap();
        panic!("{name}: {differing} pixels differ, mean difference {:.2}; the new image is {}", total as f64 / n, seen.display());
    }
}

/// The texts of an SVG's `<text>` elements.
fn svg_texts(path: &Path) -> Vec<String> {
    let svg = std::fs::read_to_string(path).unwrap();
    svg.split("<text").skip(1).filter_map(|t| Some(t[t.find('>')? + 1..t.find("</text>")?].trim().to_string())).collect()
}

/// The labels of a figure read as a person writes them: numbers round (at most 4 significant
/// digits), never "-0", no "log10" axis names; and there are labels at all.
fn check_labels(path: &Path) {
    let texts = svg_texts(path);
    assert!(texts.len() > 5, "{}: {} labels", path.display(), texts.len());
    for text in &texts {
        assert!(!text.contains("log10"), "{}: {text}", path.display());
        // Negative numbers take the minus sign: a hyphen before a digit is a bug.
        assert!(!text.split('-').skip(1).any(|w| w.starts_with(|c: char| c.is_ascii_digit())), "{}: a hyphen for a minus in {text}", path.display());
        for word in text.split(|c: char| c.is_whitespace() || c == '=' || c == '(' || c == ')' || c == ',' || c == ';') {
            let word = &word.replace('−', "-");
            if word.parse::<f64>().is_ok() {
                let mantissa = word.split(['e', 'E']).next().unwrap();
                let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
                let significant = digits.trim_start_matches('0').trim_end_matches('0');
                assert!(significant.len() <= 4, "{}: {word} is not round ({text})", path.display());
                // Zero is "0": not "-0", "0.0" or "0.000000".
                assert!(word.parse::<f64>().unwrap() != 0.0 || word == "0", "{}: {word} ({text})", path.display());
                assert!(!word.contains(['e', 'E']), "{}: {word} is not how print writes powers of ten ({text})", path.display());
            }
        }
    }
}

#[test]
fn maps_and_their_annotated_versions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let report = execute(&scenario("system='landau'\nx='r=-0.25:0.5:48'\ny='m=-1.5:1.5:40'\n[params]\nu=-1.0\nw=1.0"), out).unwrap();
    check_png(&out.join("basins.png"), Some((48, 40)));
    for stem in ["basins_annotated", "steps_annotated"] {
        check_png(&out.join(format!("{stem}.png")), Some(SIZE));
        check_svg(&out.join(format!("{stem}.svg")), SIZE, true);
        check_pdf(&out.join(format!("{stem}.pdf")));
        check_labels(&out.join(format!("{stem}.svg")));
    }
    // Names as a reader writes them: the start value m₀, the multiplication sign; the legend
    // rows whole (an attractor's location to its last digit), the shading explained.
    let texts = svg_texts(&out.join("basins_annotated.svg"));
    assert!(texts.iter().any(|t| t == "m₀") && texts.iter().any(|t| t.contains("basins")), "{texts:?}");
    assert!(texts.iter().any(|t| t.starts_with("0 fixed") && t.contains("m=")), "{texts:?}");
    assert!(!texts.iter().any(|t| t.ends_with('…')), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("darker")), "{texts:?}");
    // The steps map: a logarithmic colour bar labelled at decades.
    let texts = svg_texts(&out.join("steps_annotated.svg"));
    assert!(texts.iter().any(|t| t == "steps taken") && texts.iter().any(|t| t == "10²" || t == "10³"), "{texts:?}");
    golden(&out.join("basins_annotated.svg"), "basins_annotated");
    golden(&out.join("steps_annotated.svg"), "steps_annotated");
    assert!(report.boundary.is_some(), "a 2-D map has boundary measures");

    // A trainability map, and a noise run's escape-time map.
    let t = tempfile::tempdir().unwrap();
    execute(&scenario("system='mlp'\nx='lr1=1:100000:8:log'\ny='lr2=1:3000:8:log'\nshared_init=true\n[params]\nD=1\nd0=4\n[network]\nactivation='tanh'\nparameterisation='mean-field'\n[dynamics]\nlr=1.0\nsteps=40\ntol=0.0"), t.path()).unwrap();
    check_png(&t.path().join("trainability.png"), Some((8, 8)));
    check_png(&t.path().join("trainability_annotated.png"), Some(SIZE));
    check_svg(&t.path().join("trainability_annotated.svg"), SIZE, true);
    // Log axes: decades as 10ⁿ.
    let texts = svg_texts(&t.path().join("trainability_annotated.svg"));
    assert!(texts.iter().any(|s| s == "10³"), "{texts:?}");
    check_labels(&t.path().join("trainability_annotated.svg"));
    golden(&t.path().join("trainability_annotated.svg"), "trainability_annotated");
    let e = tempfile::tempdir().unwrap();
    execute(&scenario("system='landau'\nx='r=-2:-1:6'\ny='m=-1.2:-0.8:5'\nsamples=4\n[params]\nu=1.0\n[dynamics]\nlr=0.01\nsteps=2000\ntemperature=0.4\nescape=0.8"), e.path()).unwrap();
    check_png(&e.path().join("escape_time_annotated.png"), Some(SIZE));
    check_svg(&e.path().join("escape_time_annotated.svg"), SIZE, true);
    check_labels(&e.path().join("escape_time_annotated.svg"));
    golden(&e.path().join("escape_time_annotated.svg"), "escape_time_annotated");
}

#[test]
fn curves_of_scans_traces_and_landscapes() {
    let s = scenario("system='effective'\nx='gamma=0.05:0.8:40'\n[params]\nD=2");
    let dir = tempfile::tempdir().unwrap();
    execute(&s, dir.path()).unwrap();
    // A 1-D scan: 260 pixels per panel (three: loss, b, and one more) plus 60.
    let img = image::open(dir.path().join("curves.png")).unwrap();
    assert_eq!(img.width(), 1000);
    check_png(&dir.path().join("curves.png"), None);
    check_svg(&dir.path().join("curves.svg"), (1000, img.height()), false);
    check_labels(&dir.path().join("curves.svg"));
    golden(&dir.path().join("curves.svg"), "curves");

    let plan = Plan::new(&scenario("system='landau'\nx='r=-1:1:3'\ny='m=0.5:0.5:1'")).unwrap();
    let t = tempfile::tempdir().unwrap();
    let trace = basinmap::trace::record(&plan, None).unwrap();
    let files = basinmap::trace::write(&plan, &trace, &OutputDir::prepare(t.path()).unwrap(), "trace").unwrap();
    assert!(files.iter().any(|f| f == "trace.png") && files.iter().any(|f| f == "trace.svg"), "{files:?}");
    check_png(&t.path().join("trace.png"), None);
    check_labels(&t.path().join("trace.svg"));
    // What the three trajectories share (m₀) is said once, under the title; the legend names r.
    let texts = svg_texts(&t.path().join("trace.svg"));
    assert!(texts.iter().any(|s| s == "m₀ = 0.5") && texts.iter().any(|s| s == "r = −1"), "{texts:?}");
    golden(&t.path().join("trace.svg"), "trace");

    // A landscape with many y values is a heat map with an annotated version.
    let plan = Plan::new(&scenario("system='effective'\nx='b=-0.4:0.4:60'\ny='gamma=0.05:0.3:30'\n[params]\nD=2")).unwrap();
    let l = tempfile::tempdir().unwrap();
    let land = basinmap::landscape::evaluate(&plan).unwrap();
    basinmap::landscape::write(&plan, &land, &OutputDir::prepare(l.path()).unwrap(), "landscape").unwrap();
    check_png(&l.path().join("landscape.png"), Some((60, 30)));
    check_png(&l.path().join("landscape_annotated.png"), Some(SIZE));
    check_svg(&l.path().join("landscape_annotated.svg"), SIZE, true);
    check_labels(&l.path().join("landscape_annotated.svg"));
    golden(&l.path().join("landscape_annotated.svg"), "landscape_annotated");
    // A few y values: curves, a family coloured along the colour map with a bar of γ.
    let plan = Plan::new(&scenario("system='effective'\nx='b=-0.6:0.6:120'\ny='gamma=0.05:0.3:6'\n[params]\nD=2")).unwrap();
    let c = tempfile::tempdir().unwrap();
    let land = basinmap::landscape::evaluate(&plan).unwrap();
    basinmap::landscape::write(&plan, &land, &OutputDir::prepare(c.path()).unwrap(), "landscape").unwrap();
    check_labels(&c.path().join("landscape.svg"));
    let texts = svg_texts(&c.path().join("landscape.svg"));
    assert!(texts.iter().any(|s| s == "γ") && texts.iter().any(|s| s == "b"), "{texts:?}");
    golden(&c.path().join("landscape.svg"), "landscape");
}

#[test]
fn sweep_and_kramers_figures() {
    let dir = tempfile::tempdir().unwrap();
    let s = scenario("system='landau'\nx='r=-0.5:0.5:201'\ny='m=-1.5:1.5:6'\n[params]\nu=-1.0\nw=1.0");
    let report = sweep(&s, &SweepOptions { refine: 5, ..SweepOptions::default() }, dir.path(), &Silent).unwrap();
    assert_eq!(report.transitions.len(), 1);
    // Four panels of 220 pixels plus 60.
    check_png(&dir.path().join("sweep.png"), Some((1000, 940)));
    check_svg(&dir.path().join("sweep.svg"), (1000, 940), false);
    check_labels(&dir.path().join("sweep.svg"));
    let texts = svg_texts(&dir.path().join("sweep.svg"));
    let at = texts.iter().find_map(|s| s.strip_prefix("transition (order 1) at r = ")).expect("the transition is labelled");
    assert!((at.parse::<f64>().unwrap() - 0.25).abs() < 0.01, "order 1 at {at}");
    // The spinodals are labelled too; the derivatives are L′ and L″; the file has a PDF.
    assert!(texts.iter().any(|s| s.starts_with("spinodal (up) at r = ")), "{texts:?}");
    assert!(texts.iter().any(|s| s.starts_with("L′")) && texts.iter().any(|s| s.starts_with("L″")), "{texts:?}");
    check_pdf(&dir.path().join("sweep.pdf"));
    golden(&dir.path().join("sweep.svg"), "sweep");
    for f in ["sweep.csv", "hysteresis.csv", "transitions.json"] {
        assert!(std::fs::metadata(dir.path().join(f)).unwrap().len() > 100, "{f}");
    }

    let k = tempfile::tempdir().unwrap();
    let s = scenario("system='landau'\nx='m=-1:-1:1'\nsamples=200\n[params]\nr=-2.0\nu=1.0\n[dynamics]\nlr=0.01\nsteps=200000\nescape=1.0");
    kramers(&s, &[0.3, 0.5], k.path(), &Silent).unwrap();
    for stem in ["kramers", "escape_times"] {
        check_png(&k.path().join(format!("{stem}.png")), Some((900, 560)));
        check_svg(&k.path().join(format!("{stem}.svg")), (900, 560), false);
        check_labels(&k.path().join(format!("{stem}.svg")));
        golden(&k.path().join(format!("{stem}.svg")), stem);
    }
}

#[test]
fn orbit_diagram_and_lyapunov_figures() {
    use basinmap::analysis::orbit::{compute, write, OrbitOptions};
    // In f64: in f32 the steps cannot settle within ~1e-3 of the doubling (their rounding keeps
    // an oscillation of about ε/(1 − |multiplier|) alive), and the bisection stops there.
    let plan = Plan::new(&scenario("system='landau'\nx='lr=0.3:1.05:150'\ny='m=0.6:0.6:1'\n[params]\nr=-1\nu=1\n[dynamics]\nsteps=2000\nprecision='f64'")).unwrap();
    let o = tempfile::tempdir().unwrap();
    let orbit = compute(&plan, &OrbitOptions { lyapunov: true, ..OrbitOptions::default() }).unwrap();
    let files = write(&plan, &orbit, &OutputDir::prepare(o.path()).unwrap()).unwrap();
    for f in ["orbit.npy", "period.npy", "lyapunov.npy", "orbit.csv", "period_changes.csv", "orbit.png", "orbit.svg", "orbit.pdf", "lyapunov.png", "lyapunov.svg", "lyapunov.pdf"] {
        assert!(files.iter().any(|g| g == f), "{f} not in {files:?}");
    }
    check_png(&o.path().join("orbit.png"), Some(SIZE));
    check_svg(&o.path().join("orbit.svg"), SIZE, true);
    check_labels(&o.path().join("orbit.svg"));
    check_pdf(&o.path().join("orbit.pdf"));
    // The first period doubling is drawn and named at lr = 2/F″ = 0.5.
    let texts = svg_texts(&o.path().join("orbit.svg"));
    let at = texts.iter().find_map(|s| s.strip_prefix("period 1 → 2 at η = ")).unwrap_or_else(|| panic!("{texts:?}"));
    assert!((at.parse::<f64>().unwrap() - 0.5).abs() < 1e-3, "{at}");
    golden(&o.path().join("orbit.svg"), "orbit");
    check_labels(&o.path().join("lyapunov.svg"));
    golden(&o.path().join("lyapunov.svg"), "lyapunov");
}
