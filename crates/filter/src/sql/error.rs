use std::fmt;

/// What kind of problem made an expression invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SqlErrorKind {
    /// A character sequence that is no token (unexpected character, unterminated string or
    /// block comment).
    Lexical,
    /// The token sequence does not fit the grammar.
    Syntax,
    /// Grammatically fine but rejected while building the expression, as the Java parser does:
    /// `x = NULL`, a string/boolean literal or a boolean expression compared with `>`, constant
    /// `BETWEEN` bounds out of order, `IN` on a non-property, a non-boolean selector, a numeric
    /// literal out of range.
    Semantic,
    /// The expression is longer or nested deeper than this implementation accepts.
    Limit,
}

impl fmt::Display for SqlErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SqlErrorKind::Lexical => "lexical error",
            SqlErrorKind::Syntax => "syntax error",
            SqlErrorKind::Semantic => "invalid expression",
            SqlErrorKind::Limit => "expression too complex",
        })
    }
}

/// A compile error of a SQL92 selector, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    // Boxed: keeps `Result<_, SqlError>` small in the recursive parser's frames.
    inner: Box<ErrorInner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorInner {
    kind: SqlErrorKind,
    message: String,
    offset: usize,
    line: usize,
    column: usize,
}

impl SqlError {
    pub(crate) fn new(src: &str, kind: SqlErrorKind, offset: usize, message: String) -> Self {
        let offset = offset.min(src.len());
        // Snap to a char boundary (offsets are produced at boundaries, but be defensive).
        let mut off = offset;
        while off > 0 && !src.is_char_boundary(off) {
            off -= 1;
        }
        let before = &src[..off];
        let mut line = 1;
        let mut column = 1;
        let mut prev_cr = false;
        for ch in before.chars() {
            match ch {
                '\n' if prev_cr => {}
                '\n' | '\r' => {
                    line += 1;
                    column = 1;
                }
                _ => column += 1,
            }
            prev_cr = ch == '\r';
        }
        SqlError {
            inner: Box::new(ErrorInner {
                kind,
                message,
                offset: off,
                line,
                column,
            }),
        }
    }

    pub fn kind(&self) -> SqlErrorKind {
        self.inner.kind
    }
    pub fn message(&self) -> &str {
        &self.inner.message
    }
    /// Byte offset into the expression text.
    pub fn offset(&self) -> usize {
        self.inner.offset
    }
    /// 1-based line.
    pub fn line(&self) -> usize {
        self.inner.line
    }
    /// 1-based column, in characters.
    pub fn column(&self) -> usize {
        self.inner.column
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid SQL92 selector: {}: {} at line {}, column {}",
            self.inner.kind, self.inner.message, self.inner.line, self.inner.column
        )
    }
}

impl std::error::Error for SqlError {}

/// Why an evaluation failed. The Java broker logs the exception and treats the message as not
/// matched; [`crate::SqlExpression::evaluate`] returns `None` for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvalError {
    /// A string could not be converted to the number type of the other operand
    /// (`Integer.valueOf`, `Long.valueOf`, `Double.valueOf` failed).
    NumberFormat { value: String, target: &'static str },
    /// `>`, `>=`, `<`, `<=` between two strings that are not both parseable as doubles.
    StringComparison { left: String, right: String },
    /// A boolean on the left compared with a string on the right (the Java implementation
    /// throws `ClassCastException` there), or a non-boolean where a boolean was needed.
    ClassCast,
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::NumberFormat { value, target } => {
                write!(f, "cannot convert {value:?} to {target}")
            }
            EvalError::StringComparison { left, right } => write!(
                f,
                "it is illegal to compare strings with '>', '>=', '<', '<=' (lv={left:?}, rv={right:?})"
            ),
            EvalError::ClassCast => f.write_str("incompatible operand types"),
        }
    }
}

impl std::error::Error for EvalError {}
