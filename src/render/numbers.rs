//! Numbers as a figure prints them: tick labels rounded to what the axis resolves (never
//! "2.3345" or "-0.0"), decades of a log axis as 10 with a superscript exponent, and values in
//! labels ("order 2 at 0.25") short and without a negative zero. Negative numbers take the minus
//! sign (−), not the hyphen, and very large or small ones are written 1.5×10⁻⁷, as in print.

/// Significant digits a label keeps.
const DIGITS: i32 = 4;

/// A tick at `v` on an axis spanning `span` (> 0): rounded to 4 digits of the span's magnitude,
/// trailing zeros dropped, "0" for a tick at zero however it was computed (−0.0, 1e−17).
pub fn tick(v: f64, span: f64) -> String {
    minus(plain_tick(v, span))
}

/// A tick at `v` of an axis spanning `span`: [`log_tick`] of log10 coordinates on a log axis,
/// [`tick`] otherwise.
pub fn axis_tick(v: f64, span: f64, log: bool) -> String {
    if log {
        log_tick(v, span)
    } else {
        tick(v, span)
    }
}

fn plain_tick(v: f64, span: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let span = if span.is_finite() && span > 0.0 { span } else { v.abs().max(1.0) };
    if v.abs() <= span * 1e-9 {
        return "0".into();
    }
    let magnitude = span.log10().floor() as i32;
    if v.abs() >= 1e5 || span < 1e-3 {
        return scientific(v);
    }
    let decimals = (DIGITS - 1 - magnitude).max(0) as usize;
    trimmed(format!("{v:.decimals$}"))
}

/// A tick at `k` on a log10 axis spanning `span` decades: 10^k written with a superscript
/// exponent at whole decades and nothing between them; on an axis shorter than a decade, where
/// none might show, the plain value.
pub fn log_tick(k: f64, span: f64) -> String {
    if !k.is_finite() {
        return String::new();
    }
    let whole = k.round();
    if (k - whole).abs() < 1e-6 {
        return match whole as i64 {
            0 => "1".into(),
            1 => "10".into(),
            e => format!("10{}", superscript(e)),
        };
    }
    if span >= 1.0 {
        return String::new();
    }
    value(10f64.powf(k))
}

/// A value in a label: 4 significant digits, trailing zeros dropped, no negative zero,
/// scientific notation outside [1e−3, 1e5).
pub fn value(v: f64) -> String {
    minus(plain_value(v))
}

fn plain_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        return scientific(v);
    }
    let decimals = (DIGITS - 1 - a.log10().floor() as i32).max(0) as usize;
    trimmed(format!("{v:.decimals$}"))
}

/// "v ± e" with the error to two significant digits and the value to the same decimal place
/// ("1.086 ± 0.075"); `value`'s form where the error is zero or not finite.
pub fn with_error(v: f64, e: f64) -> String {
    if !(e.is_finite() && e > 0.0 && v.is_finite()) || !(1e-3..1e5).contains(&e) {
        return format!("{} ± {}", value(v), value(e));
    }
    let decimals = (1 - e.log10().floor() as i32).max(0) as usize;
    let v = trimmed_zero(format!("{v:.decimals$}"));
    minus(format!("{v} ± {e:.decimals$}"))
}

/// `v` to the decimal place of its uncertainty `e`'s first digit (3.4494 for 3.449490 ± 2e-4),
/// at most 12 decimals (its zeros kept: they are digits); `value`'s form where `v` is very large
/// or small.
pub fn to_resolution(v: f64, e: f64) -> String {
    if !(e.is_finite() && e > 0.0 && v.is_finite()) || !(1e-3..1e5).contains(&v.abs()) {
        return value(v);
    }
    let decimals = (-e.log10().floor() as i32).clamp(0, 12) as usize;
    minus(trimmed_zero(format!("{v:.decimals$}")))
}

/// The typographic minus sign for the hyphen of a negative number.
fn minus(s: String) -> String {
    s.replace('-', "−")
}

/// The whole decades k (10ᵏ) within log10 coordinates [lo, hi].
pub fn decades(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi - lo > 400.0 {
        return Vec::new();
    }
    let (first, last) = ((lo - 1e-9).ceil() as i64, (hi + 1e-9).floor() as i64);
    let stride = ((last - first) / 8 + 1).max(1);
    (first..=last).filter(|k| k.rem_euclid(stride) == 0).map(|k| k as f64).collect()
}

/// About `n` round values (1, 2 or 5 times a power of ten apart) within [lo, hi].
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if !(lo.is_finite() && hi.is_finite()) || span <= 0.0 || n == 0 {
        return if lo.is_finite() { vec![lo] } else { Vec::new() };
    }
    let raw = span / n as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|s| span / s <= n as f64).unwrap_or(10.0 * power);
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// The sign of a zero dropped, the digits kept ("-0.00" → "0.00").
fn trimmed_zero(s: String) -> String {
    if s.starts_with('-') && s[1..].chars().all(|c| c == '0' || c == '.') {
        s[1..].to_string()
    } else {
        s
    }
}

/// "1.5×10⁻⁷", "-2×10⁵", "10⁻⁴": a mantissa of up to 4 digits.
fn scientific(v: f64) -> String {
    let s = format!("{:.*e}", (DIGITS - 1) as usize, v);
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let power = format!("10{}", superscript(exponent.parse().unwrap_or(0)));
    match trimmed(mantissa.to_string()).as_str() {
        "1" => power,
        "-1" => format!("-{power}"),
        m => format!("{m}×{power}"),
    }
}

/// Drops the trailing zeros of a decimal fraction (and its point), and the sign of a zero.
fn trimmed(mut s: String) -> String {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s.trim_start_matches('-').chars().all(|c| c == '0') {
        return "0".into();
    }
    s
}

/// The exponent in superscript digits ("⁻³").
pub fn superscript(e: i64) -> String {
    const DIGITS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut s = String::new();
    if e < 0 {
        s.push('⁻');
    }
    for c in e.unsigned_abs().to_string().chars() {
        s.push(DIGITS[c.to_digit(10).unwrap_or(0) as usize]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_to_the_resolution_of_their_uncertainty() {
        assert_eq!(to_resolution(3.449490, 3.4e-3), "3.449");
        assert_eq!(to_resolution(0.5000001, 5e-4), "0.5000");
        assert_eq!(to_resolution(-0.25, 0.01), "−0.25");
        assert_eq!(to_resolution(3.005, 0.01), "3.00");
        // Very large or small values, or no uncertainty: `value`'s form.
        assert_eq!(to_resolution(2.5e-5, 1e-7), value(2.5e-5));
        assert_eq!(to_resolution(1.5, 0.0), "1.5");
    }

    #[test]
    fn ticks_are_round_and_zero_has_no_sign() {
        assert_eq!(tick(-0.30000000000000004, 1.0), "−0.3");
        assert_eq!(tick(0.25, 1.0), "0.25");
        assert_eq!(tick(-0.0, 1.0), "0");
        assert_eq!(tick(5.551115123125783e-17, 1.0), "0");
        assert_eq!(tick(-1e-17, 0.5), "0");
        assert_eq!(tick(2000.0, 2000.0), "2000");
        assert_eq!(tick(20.0, 100.0), "20");
        assert_eq!(tick(0.0625, 0.2), "0.0625");
        assert_eq!(tick(2e-4, 1e-4), "2×10⁻⁴");
        assert_eq!(tick(300000.0, 1e6), "3×10⁵");
        assert_eq!(tick(1e-4, 1e-4), "10⁻⁴");
        for k in -200..=200 {
            let v = k as f64 * 0.05 - 1e-16;
            let s = tick(v, 20.0);
            assert!(s != "−0" && !s.contains('-'), "{v} -> {s}");
            assert!(s.chars().count() <= 5, "{v} -> {s}");
        }
    }

    #[test]
    fn decades_are_powers_of_ten() {
        assert_eq!(log_tick(3.0, 5.0), "10³");
        assert_eq!(log_tick(-2.0000000001, 5.0), "10⁻²");
        assert_eq!(log_tick(0.0, 5.0), "1");
        assert_eq!(log_tick(1.0, 5.0), "10");
        assert_eq!(log_tick(12.0, 5.0), "10¹²");
        // Between decades: nothing where whole decades show, the value where none might.
        assert_eq!(log_tick(-2.5, 5.0), "");
        assert_eq!(log_tick(0.5f64.log10(), 0.5), "0.5");
    }

    #[test]
    fn tick_positions_are_round() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]);
        assert_eq!(nice_ticks(-0.25, 0.5, 5), vec![-0.2, 0.0, 0.2, 0.4]);
        assert_eq!(nice_ticks(3.0, 7.0, 4), vec![3.0, 4.0, 5.0, 6.0, 7.0]);
        assert_eq!(decades(-0.5, 3.2), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(decades(0.1, 0.9), Vec::<f64>::new());
        // Many decades: every other (or fewer), at most nine.
        assert!(decades(-30.0, 30.0).len() <= 9);
    }

    #[test]
    fn errors_set_the_digits() {
        assert_eq!(with_error(1.0856, 0.0750), "1.086 ± 0.075");
        assert_eq!(with_error(123.456, 2.5), "123.5 ± 2.5");
        assert_eq!(with_error(-0.0001, 0.03), "0.000 ± 0.030");
        assert_eq!(with_error(-1.25, 0.03), "−1.250 ± 0.030");
        assert_eq!(with_error(2.0, 0.0), "2 ± 0");
    }

    #[test]
    fn values_are_short() {
        assert_eq!(value(0.0), "0");
        assert_eq!(value(-0.0), "0");
        assert_eq!(value(0.123456789), "0.1235");
        assert_eq!(value(-1.5), "−1.5");
        assert_eq!(value(2000.0), "2000");
        assert_eq!(value(1.0 / 3.0 * 1e-6), "3.333×10⁻⁷");
        assert_eq!(value(-0.00001), "−10⁻⁵");
    }
}
