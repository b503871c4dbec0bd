//! The formula language's lexer and parser: text → [`Expr`] trees that remember where each part
//! came from, so later checks can point at the user's text.
//!
//! ```text
//! list    := expr { ';' expr } [';']
//! expr    := term { ('+' | '-') term }
//! term    := unary { ('*' | '/') unary }
//! unary   := ('-' | '+') unary | power
//! power   := atom [ ('^' | '**') unary ]        (right-associative; -x^2 = -(x^2))
//! atom    := NUMBER | NAME | NAME '(' expr { ',' expr } ')' | '(' expr ')'
//! ```

use std::ops::Range;

pub type Span = Range<usize>;

/// A parse error: a message about a byte span of the text.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
}

fn error<T>(span: Span, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { span, message: message.into() })
}

/// A binary operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// A parsed expression with its span in the source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
    /// Levels of nesting below and including this node.
    pub depth: usize,
}

/// The deepest nesting a formula may have: the compiler recurses over the tree, and naga
/// rejects deeply nested WGSL.
pub const MAX_DEPTH: usize = 200;

/// The longest formula text read: far beyond any hand-written loss, short enough that a
/// pasted file cannot tie up the compiler.
pub const MAX_LEN: usize = 64 << 10;

impl Expr {
    fn new(kind: ExprKind, span: Span) -> Result<Expr, ParseError> {
        let below = match &kind {
            ExprKind::Number(_) | ExprKind::Name(_) => 0,
            ExprKind::Neg(a) => a.depth,
            ExprKind::Binary(_, a, b) => a.depth.max(b.depth),
            ExprKind::Call { args, .. } => args.iter().map(|a| a.depth).max().unwrap_or(0),
        };
        if below + 1 > MAX_DEPTH {
            return error(span, format!("the formula nests more than {MAX_DEPTH} levels deep (a very long sum? split it with parentheses)"));
        }
        Ok(Expr { kind, span, depth: below + 1 })
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(f64),
    Name(String),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// A function call: the name's span is kept for "unknown function" errors.
    Call { name: String, name_span: Span, args: Vec<Expr> },
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Number(f64),
    Name(String),
    Sym(&'static str),
    End,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    span: Span,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Number(v) => format!("the number {v}"),
        Tok::Name(n) => format!("'{n}'"),
        Tok::Sym(s) => format!("'{s}'"),
        Tok::End => "the end of the formula".into(),
    }
}

fn lex(text: &str) -> Result<Vec<Token>, ParseError> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            // An exponent only if digits follow (so `2e` is 2 then the name e).
            if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
                let mut j = i + 1;
                if j < bytes.len() && (bytes[j] == b'+' || bytes[j] == b'-') {
                    j += 1;
                }
                if j < bytes.len() && bytes[j].is_ascii_digit() {
                    i = j;
                    while i < bytes.len() && bytes[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            let t = &text[start..i];
            let v: f64 = t.parse().map_err(|_| ParseError { span: start..i, message: format!("'{t}' is not a number") })?;
            tokens.push(Token { tok: Tok::Number(v), span: start..i });
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token { tok: Tok::Name(text[start..i].to_string()), span: start..i });
            continue;
        }
        let sym = match c {
            b'*' if bytes.get(i + 1) == Some(&b'*') => "**",
            b'+' => "+",
            b'-' => "-",
            b'*' => "*",
            b'/' => "/",
            b'^' => "^",
            b'(' => "(",
            b')' => ")",
            b',' => ",",
            b';' => ";",
            _ => {
                let ch = text[i..].chars().next().unwrap_or('?');
                return error(i..i + ch.len_utf8(), format!("unexpected character '{ch}'"));
            }
        };
        i += sym.len();
        tokens.push(Token { tok: Tok::Sym(sym), span: start..i });
    }
    tokens.push(Token { tok: Tok::End, span: text.len()..text.len() });
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Open parentheses and prefix signs around the current position: bounds the recursion
    /// before any tree is built.
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }
    fn is(&self, sym: &str) -> bool {
        matches!(&self.peek().tok, Tok::Sym(s) if *s == sym)
    }
    fn bump(&mut self) -> Token {
        let t = self.tokens[self.pos].clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        t
    }

    fn list(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut out = vec![self.expr()?];
        while self.is(";") {
            self.bump();
            if matches!(self.peek().tok, Tok::End) {
                break;
            }
            out.push(self.expr()?);
        }
        let t = self.peek();
        match &t.tok {
            Tok::End => Ok(out),
            Tok::Sym(")") => error(t.span.clone(), "unmatched ')'"),
            other => error(t.span.clone(), format!("unexpected {} after a complete expression (a missing operator?)", describe(other))),
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.nest()?;
        let e = self.left_assoc([("+", BinOp::Add), ("-", BinOp::Sub)], Self::term);
        self.nesting -= 1;
        e
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return error(self.peek().span.clone(), format!("the formula nests more than {MAX_DEPTH} levels deep"));
        }
        Ok(())
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        self.left_assoc([("*", BinOp::Mul), ("/", BinOp::Div)], Self::unary)
    }

    /// `next { op next }` for the two operators of one precedence level, left-associative.
    fn left_assoc(&mut self, ops: [(&str, BinOp); 2], next: fn(&mut Self) -> Result<Expr, ParseError>) -> Result<Expr, ParseError> {
        let mut lhs = next(self)?;
        while let Some(&(_, op)) = ops.iter().find(|(sym, _)| self.is(sym)) {
            let op_tok = self.bump();
            let rhs = self.operand(&op_tok, next)?;
            lhs = binary(op, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.is("-") || self.is("+") {
            let op_tok = self.bump();
            self.nest()?;
            let inner = self.operand(&op_tok, Self::unary)?;
            self.nesting -= 1;
            if op_tok.tok == Tok::Sym("+") {
                return Ok(inner);
            }
            let span = op_tok.span.start..inner.span.end;
            return Expr::new(ExprKind::Neg(Box::new(inner)), span);
        }
        self.power()
    }

    fn power(&mut self) -> Result<Expr, ParseError> {
        let base = self.atom()?;
        if self.is("^") || self.is("**") {
            let op_tok = self.bump();
            // `a^b^c…` recurses once per '^': bounded like parentheses, before the tree exists.
            self.nest()?;
            let exponent = self.operand(&op_tok, Self::unary)?;
            self.nesting -= 1;
            return binary(BinOp::Pow, base, exponent);
        }
        Ok(base)
    }

    /// The right operand of `op`: a missing one is reported at the operator.
    fn operand(&mut self, op: &Token, rule: fn(&mut Self) -> Result<Expr, ParseError>) -> Result<Expr, ParseError> {
        let t = self.peek();
        let starts_operand = match &t.tok {
            Tok::Number(_) | Tok::Name(_) => true,
            Tok::Sym(s) => matches!(*s, "(" | "-" | "+"),
            Tok::End => false,
        };
        if !starts_operand {
            let Tok::Sym(sym) = op.tok else { unreachable!("operators are symbols") };
            let found = describe(&t.tok);
            return error(op.span.clone(), format!("'{sym}' is missing its right operand (found {found})"));
        }
        rule(self)
    }

    fn atom(&mut self) -> Result<Expr, ParseError> {
        let t = self.bump();
        match t.tok {
            Tok::Number(v) => Expr::new(ExprKind::Number(v), t.span),
            Tok::Name(name) => {
                if !self.is("(") {
                    return Expr::new(ExprKind::Name(name), t.span);
                }
                let open = self.bump();
                let mut args = Vec::new();
                if !self.is(")") {
                    loop {
                        args.push(self.expr()?);
                        if self.is(",") {
                            self.bump();
                            continue;
                        }
                        break;
                    }
                }
                let close = self.expect_close(&open)?;
                Expr::new(ExprKind::Call { name, name_span: t.span.clone(), args }, t.span.start..close.end)
            }
            Tok::Sym("(") => {
                let inner = self.expr()?;
                let close = self.expect_close(&t)?;
                Ok(Expr { span: t.span.start..close.end, ..inner })
            }
            Tok::Sym(")") => error(t.span, "unmatched ')'"),
            other => error(t.span, format!("expected a number, a name or '(' but found {}", describe(&other))),
        }
    }

    fn expect_close(&mut self, open: &Token) -> Result<Span, ParseError> {
        if self.is(")") {
            return Ok(self.bump().span);
        }
        match &self.peek().tok {
            Tok::End | Tok::Sym(";") => error(open.span.clone(), "unclosed '('"),
            other => error(self.peek().span.clone(), format!("expected ')' or an operator but found {}", describe(other))),
        }
    }
}

fn binary(op: BinOp, lhs: Expr, rhs: Expr) -> Result<Expr, ParseError> {
    let span = lhs.span.start..rhs.span.end;
    Expr::new(ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span)
}

/// Parses one expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    let mut list = parse_list(text)?;
    if list.len() > 1 {
        let second = &list[1];
        return error(second.span.clone(), "one expression expected here, not a ';'-separated list");
    }
    Ok(list.remove(0))
}

/// Parses `expr; expr; …` (a trailing `;` is allowed).
pub fn parse_list(text: &str) -> Result<Vec<Expr>, ParseError> {
    if text.len() > MAX_LEN {
        return error(0..0, format!("the formula is {} bytes long, more than the {MAX_LEN} a formula may have", text.len()));
    }
    let tokens = lex(text)?;
    if matches!(tokens[0].tok, Tok::End) {
        return error(0..0, "the formula is empty");
    }
    Parser { tokens, pos: 0, nesting: 0 }.list()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(e: &Expr) -> String {
        match &e.kind {
            ExprKind::Number(v) => format!("{v}"),
            ExprKind::Name(n) => n.clone(),
            ExprKind::Neg(a) => format!("(-{})", shape(a)),
            ExprKind::Binary(op, a, b) => {
                let o = match op {
                    BinOp::Add => "+",
                    BinOp::Sub => "-",
                    BinOp::Mul => "*",
                    BinOp::Div => "/",
                    BinOp::Pow => "^",
                };
                format!("({} {o} {})", shape(a), shape(b))
            }
            ExprKind::Call { name, args, .. } => {
                format!("{name}({})", args.iter().map(shape).collect::<Vec<_>>().join(", "))
            }
        }
    }

    #[test]
    fn precedence_and_associativity() {
        let p = |t: &str| shape(&parse(t).unwrap());
        assert_eq!(p("1 + 2 * 3"), "(1 + (2 * 3))");
        assert_eq!(p("a - b - c"), "((a - b) - c)");
        assert_eq!(p("a / b * c"), "((a / b) * c)");
        assert_eq!(p("-x^2"), "(-(x ^ 2))");
        assert_eq!(p("x^-2"), "(x ^ (-2))");
        assert_eq!(p("a^b^c"), "(a ^ (b ^ c))");
        assert_eq!(p("x**3"), "(x ^ 3)");
        assert_eq!(p("2.5e-3 * max(x, -y)"), "(0.0025 * max(x, (-y)))");
        assert_eq!(p("(a + b) * .5"), "((a + b) * 0.5)");
        assert_eq!(parse_list("x; y;").unwrap().len(), 2);
    }

    #[test]
    fn spans_point_at_the_part() {
        let e = parse("x + exp(y)").unwrap();
        let ExprKind::Binary(_, _, rhs) = e.kind else { panic!() };
        assert_eq!(rhs.span, 4..10);
        let ExprKind::Call { name_span, .. } = rhs.kind else { panic!() };
        assert_eq!(name_span, 4..7);
    }

    #[test]
    fn errors_point_at_the_fault() {
        let err = |t: &str| parse_list(t).unwrap_err();
        assert_eq!(err("(x + 1").span, 0..1);
        assert!(err("(x + 1").message.contains("unclosed"));
        assert_eq!(err("x + 1)").span, 5..6);
        assert_eq!(err("x^").span, 1..2);
        assert!(err("x^").message.contains("'^' is missing its right operand"));
        assert_eq!(err("x^ * 2").span, 1..2);
        assert_eq!(err("2 x").span, 2..3);
        assert_eq!(err("x $ y").span, 2..3);
        assert_eq!(err("   ").span, 0..0);
        assert_eq!(err("f(x,)").span, 4..5);
    }

    #[test]
    fn long_chains_are_refused_not_overflowed() {
        // Each was a stack overflow (abort) before the limits: fuzzing found them.
        let pow = format!("x{}", "^x".repeat(7500));
        assert!(parse(&pow).unwrap_err().message.contains("nests more than"));
        let signs = format!("{}x", "-".repeat(100_000));
        assert!(parse(&signs).unwrap_err().message.contains("more than"));
        let sum = format!("x{}", "+x".repeat(5000));
        assert!(parse(&sum).unwrap_err().message.contains("nests more than"));
        // 200 levels of each still parse.
        assert!(parse(&format!("x{}", "^x".repeat(150))).is_ok());
        assert!(parse(&format!("{}x{}", "(".repeat(150), ")".repeat(150))).is_ok());
    }
}
