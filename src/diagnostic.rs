//! Errors that point into the user's own text (a formula, a WGSL file): where, what, and the
//! offending line with a caret under the part at fault.
//!
//! ```text
//! --loss:1:11: unknown name 'q' (state: x; parameters: r)
//!   x^2 + r * q
//!             ^
//! ```

use std::fmt;
use std::ops::Range;

/// A message about a span of a user's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Where the text came from: `--loss`, a file path, `scenario.toml [system].loss`.
    pub origin: String,
    /// 1-based line and column (in characters) of the span's start.
    pub line: usize,
    pub column: usize,
    pub message: String,
    /// The whole line the span starts on.
    pub line_text: String,
    /// Characters the caret underlines (at least 1).
    pub width: usize,
}

impl Diagnostic {
    /// A diagnostic for byte range `span` of `text`. A span at or past the end points just after
    /// the last character (where something is missing).
    pub fn at(origin: &str, text: &str, span: Range<usize>, message: impl Into<String>) -> Diagnostic {
        let start = floor_char_boundary(text, span.start.min(text.len()));
        let end = floor_char_boundary(text, span.end.clamp(start, text.len()));
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line = text[..start].matches('\n').count() + 1;
        let column = text[line_start..start].chars().count() + 1;
        let width = text[start..end.min(line_end)].chars().count().max(1);
        Diagnostic {
            origin: origin.to_string(),
            line,
            column,
            message: message.into(),
            line_text: text[line_start..line_end].trim_end_matches('\r').to_string(),
            width,
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Tabs are kept so that the caret lines up under them.
        let pad: String = self.line_text.chars().take(self.column - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        write!(
            f,
            "{}:{}:{}: {}\n  {}\n  {}{}",
            self.origin,
            self.line,
            self.column,
            self.message,
            self.line_text,
            pad,
            "^".repeat(self.width)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_the_span() {
        let d = Diagnostic::at("--loss", "x^2 + r * q", 10..11, "unknown name 'q'");
        assert_eq!((d.line, d.column, d.width), (1, 11, 1));
        assert_eq!(d.to_string(), "--loss:1:11: unknown name 'q'\n  x^2 + r * q\n            ^");
    }

    #[test]
    fn second_line_and_end_of_text() {
        let text = "fn f() {\n  let a = ;\n}";
        let d = Diagnostic::at("f.wgsl", text, 19..20, "expected expression");
        assert_eq!((d.line, d.column), (2, 11));
        assert_eq!(d.line_text, "  let a = ;");
        let end = Diagnostic::at("--loss", "x^", 2..2, "missing operand");
        assert_eq!((end.line, end.column, end.width), (1, 3, 1));
    }
}
