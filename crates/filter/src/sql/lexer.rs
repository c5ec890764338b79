//! Tokenizer for SQL92 selectors.
//!
//! Mirrors the token definitions of RocketMQ's JavaCC grammar (`SelectorParser.jj`):
//!
//! * whitespace is exactly space, `\t`, `\n`, `\r`, `\f` — anything else outside a string literal
//!   or comment is a lexical error;
//! * `-- …` is a comment only when it is terminated by `\n` or `\r`; at the very end of the input
//!   (no line terminator) the characters lex as ordinary `-` tokens, exactly like the Java token
//!   manager's longest-match rule;
//! * `/* … */` is a comment; an unterminated one is a lexical error (`/` alone is no token);
//! * keywords are ASCII case-insensitive and win over identifiers of the same length;
//! * identifiers are `[A-Za-z_$][A-Za-z0-9_$]*` (ASCII only);
//! * `DECIMAL := 0 | [1-9][0-9]*[lL]?` — note `0L` lexes as `0` followed by identifier `L`;
//! * `FLOAT := d+ '.' d* exp? | '.' d+ exp? | d+ exp`, `exp := [eE][+-]?d+`;
//! * `STRING := ' ( '' | [^'] )* '`.
//!
//! The lexer is pulled lazily by the parser, one token at a time, so — as in Java — characters
//! after the last token the parser looks at are never examined.

use super::error::{SqlError, SqlErrorKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokKind {
    Eof,
    Not,
    And,
    Or,
    Between,
    In,
    True,
    False,
    Null,
    Is,
    Contains,
    StartsWith,
    EndsWith,
    /// Text is in the source span.
    Decimal,
    /// Text is in the source span.
    Float,
    /// String literal; the quoted text is in the source span (see [`decode_string`]).
    Str,
    /// Name is in the source span.
    Id,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    LParen,
    Comma,
    RParen,
    Plus,
    Minus,
}

impl TokKind {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            TokKind::Eof => "end of input",
            TokKind::Not => "NOT",
            TokKind::And => "AND",
            TokKind::Or => "OR",
            TokKind::Between => "BETWEEN",
            TokKind::In => "IN",
            TokKind::True => "TRUE",
            TokKind::False => "FALSE",
            TokKind::Null => "NULL",
            TokKind::Is => "IS",
            TokKind::Contains => "CONTAINS",
            TokKind::StartsWith => "STARTSWITH",
            TokKind::EndsWith => "ENDSWITH",
            TokKind::Decimal => "integer literal",
            TokKind::Float => "floating point literal",
            TokKind::Str => "string literal",
            TokKind::Id => "identifier",
            TokKind::Eq => "'='",
            TokKind::Ne => "'<>'",
            TokKind::Gt => "'>'",
            TokKind::Ge => "'>='",
            TokKind::Lt => "'<'",
            TokKind::Le => "'<='",
            TokKind::LParen => "'('",
            TokKind::Comma => "','",
            TokKind::RParen => "')'",
            TokKind::Plus => "'+'",
            TokKind::Minus => "'-'",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub kind: TokKind,
    /// Byte offsets into the source.
    pub start: usize,
    pub end: usize,
}

/// The value of a string literal token: the text between the quotes with `''` → `'`.
pub(crate) fn decode_string(src: &str, tok: &Token) -> String {
    src[tok.start + 1..tok.end - 1].replace("''", "'")
}

pub(crate) struct Lexer<'s> {
    src: &'s str,
    pos: usize,
}

fn is_id_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$'
}

fn is_id_part(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

fn keyword(word: &str) -> Option<TokKind> {
    const KEYWORDS: [(&str, TokKind); 12] = [
        ("NOT", TokKind::Not),
        ("AND", TokKind::And),
        ("OR", TokKind::Or),
        ("BETWEEN", TokKind::Between),
        ("IN", TokKind::In),
        ("TRUE", TokKind::True),
        ("FALSE", TokKind::False),
        ("NULL", TokKind::Null),
        ("IS", TokKind::Is),
        ("CONTAINS", TokKind::Contains),
        ("STARTSWITH", TokKind::StartsWith),
        ("ENDSWITH", TokKind::EndsWith),
    ];
    KEYWORDS
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(word))
        .map(|(_, t)| *t)
}

impl<'s> Lexer<'s> {
    pub(crate) fn new(src: &'s str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn bytes(&self) -> &'s [u8] {
        self.src.as_bytes()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.bytes().get(i).copied()
    }

    fn err(&self, offset: usize, msg: String) -> SqlError {
        SqlError::new(self.src, SqlErrorKind::Lexical, offset, msg)
    }

    /// Skips whitespace and comments. Errors on an unterminated block comment.
    fn skip_trivia(&mut self) -> Result<(), SqlError> {
        loop {
            match self.at(self.pos) {
                Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0c) => self.pos += 1,
                Some(b'-') if self.at(self.pos + 1) == Some(b'-') => {
                    let rest = &self.bytes()[self.pos + 2..];
                    match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                        // The terminator belongs to the comment; "\r\n" would be consumed as a
                        // whole, but the '\n' is whitespace anyway.
                        Some(p) => self.pos += 2 + p + 1,
                        // No line terminator: not a comment, the '-' is a token.
                        None => return Ok(()),
                    }
                }
                Some(b'/') if self.at(self.pos + 1) == Some(b'*') => {
                    let body = &self.src[self.pos + 2..];
                    match body.find("*/") {
                        Some(p) => self.pos += 2 + p + 2,
                        None => return Err(self.err(self.pos, "unterminated comment".to_string())),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn exponent_len(&self, i: usize) -> usize {
        // [eE][+-]?[0-9]+ starting at i; 0 when absent.
        match self.at(i) {
            Some(b'e' | b'E') => {}
            _ => return 0,
        }
        let mut j = i + 1;
        if matches!(self.at(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let digits_start = j;
        while self.at(j).is_some_and(|b| b.is_ascii_digit()) {
            j += 1;
        }
        if j == digits_start {
            0
        } else {
            j - i
        }
    }

    fn digits_end(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(|b| b.is_ascii_digit()) {
            i += 1;
        }
        i
    }

    /// End (exclusive) of the longest string literal `' ( '' | [^'] )* '` starting at `start`.
    ///
    /// Inside the literal every run of quotes must be of even length (escapes), except the run
    /// that closes it. An odd run closes the literal at its end. An even run may be all escapes,
    /// or escapes plus a closing quote one before its end; the longest match prefers the former
    /// if the literal can be closed later, so remember the latter as a fallback. (`'''` at the
    /// end of the input is the empty literal `''` followed by a lone quote.)
    fn string_end(&self, start: usize) -> Option<usize> {
        let bytes = self.bytes();
        let mut fallback = None;
        let mut i = start + 1;
        while i < bytes.len() {
            if bytes[i] != b'\'' {
                i += 1;
                continue;
            }
            let run_start = i;
            while bytes.get(i) == Some(&b'\'') {
                i += 1;
            }
            if (i - run_start) % 2 == 1 {
                return Some(i);
            }
            fallback = Some(i - 1);
        }
        fallback
    }

    pub(crate) fn next_token(&mut self) -> Result<Token, SqlError> {
        self.skip_trivia()?;
        let start = self.pos;
        let Some(b) = self.at(start) else {
            return Ok(Token {
                kind: TokKind::Eof,
                start,
                end: start,
            });
        };
        let (kind, end) = match b {
            b'0'..=b'9' => {
                let int_end = self.digits_end(start);
                if self.at(int_end) == Some(b'.') {
                    let frac_end = self.digits_end(int_end + 1);
                    (TokKind::Float, frac_end + self.exponent_len(frac_end))
                } else if self.exponent_len(int_end) > 0 {
                    (TokKind::Float, int_end + self.exponent_len(int_end))
                } else if b == b'0' {
                    // DECIMAL "0" has no suffix and no further digits.
                    (TokKind::Decimal, start + 1)
                } else if matches!(self.at(int_end), Some(b'l' | b'L')) {
                    (TokKind::Decimal, int_end + 1)
                } else {
                    (TokKind::Decimal, int_end)
                }
            }
            b'.' if self.at(start + 1).is_some_and(|b| b.is_ascii_digit()) => {
                let frac_end = self.digits_end(start + 1);
                (TokKind::Float, frac_end + self.exponent_len(frac_end))
            }
            b'\'' => match self.string_end(start) {
                Some(end) => (TokKind::Str, end),
                None => return Err(self.err(start, "unterminated string literal".to_string())),
            },
            b if is_id_start(b) => {
                let mut i = start + 1;
                while self.at(i).is_some_and(is_id_part) {
                    i += 1;
                }
                let word = &self.src[start..i];
                (keyword(word).unwrap_or(TokKind::Id), i)
            }
            b'=' => (TokKind::Eq, start + 1),
            b'<' => match self.at(start + 1) {
                Some(b'>') => (TokKind::Ne, start + 2),
                Some(b'=') => (TokKind::Le, start + 2),
                _ => (TokKind::Lt, start + 1),
            },
            b'>' => match self.at(start + 1) {
                Some(b'=') => (TokKind::Ge, start + 2),
                _ => (TokKind::Gt, start + 1),
            },
            b'(' => (TokKind::LParen, start + 1),
            b',' => (TokKind::Comma, start + 1),
            b')' => (TokKind::RParen, start + 1),
            b'+' => (TokKind::Plus, start + 1),
            b'-' => (TokKind::Minus, start + 1),
            _ => {
                let ch = self.src[start..].chars().next().unwrap_or('\u{fffd}');
                return Err(self.err(start, format!("unexpected character {ch:?}")));
            }
        };
        self.pos = end;
        Ok(Token { kind, start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Result<Vec<TokKind>, SqlError> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token()?;
            if t.kind == TokKind::Eof {
                return Ok(out);
            }
            out.push(t.kind);
        }
    }

    fn texts(src: &str) -> Vec<String> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            if t.kind == TokKind::Eof {
                return out;
            }
            out.push(src[t.start..t.end].to_string());
        }
    }

    #[test]
    fn numbers() {
        use TokKind::*;
        assert_eq!(kinds("0").unwrap(), vec![Decimal]);
        assert_eq!(texts("007"), vec!["0", "0", "7"]);
        assert_eq!(texts("0L 12L 12l"), vec!["0", "L", "12L", "12l"]);
        assert_eq!(texts("5. .5 5.5e10 5.E10 5e10 5e 1e+ 1E-3"), {
            let v: Vec<&str> = vec![
                "5.", ".5", "5.5e10", "5.E10", "5e10", "5", "e", "1", "e", "+", "1E-3",
            ];
            v
        });
        assert_eq!(texts("1.5.3"), vec!["1.5", ".3"]);
        assert_eq!(texts("5abc"), vec!["5", "abc"]);
        assert_eq!(texts("00.5"), vec!["00.5"]);
        assert!(kinds(".").is_err());
        assert!(kinds("a . b").is_err());
    }

    #[test]
    fn strings_and_comments() {
        let strings = |src: &str| -> Vec<String> {
            let mut lx = Lexer::new(src);
            let mut out = Vec::new();
            loop {
                let t = lx.next_token().unwrap();
                match t.kind {
                    TokKind::Eof => return out,
                    TokKind::Str => out.push(decode_string(src, &t)),
                    _ => {}
                }
            }
        };
        assert_eq!(strings("'a''b' ''"), vec!["a'b", ""]);
        assert_eq!(strings("'''''tag'''''"), vec!["''tag''"]);
        assert_eq!(strings("'a'''"), vec!["a'"]);
        // Longest match with backtracking: the literal ends before a quote that cannot close.
        let first = |src: &str| {
            let t = Lexer::new(src).next_token().unwrap();
            assert_eq!(t.kind, TokKind::Str);
            decode_string(src, &t)
        };
        assert_eq!(first("''' "), "");
        assert!(kinds("'''").is_err()); // '' then an unterminated '
        assert_eq!(first("'a''b"), "a");
        assert_eq!(first("'a''''b"), "a'");
        assert_eq!(first("'a''''b''"), "a''b");
        assert_eq!(strings("'a'''''"), vec!["a''"]);
        assert_eq!(strings("'é''中'"), vec!["é'中"]);
        assert!(kinds("'abc").is_err());
        assert!(kinds("a /* x").is_err());
        assert_eq!(kinds("a /* x ** / */ b").unwrap().len(), 2);
        assert_eq!(kinds("/**/a/***/").unwrap(), vec![TokKind::Id]);
        assert_eq!(kinds("a -- c\nb").unwrap(), vec![TokKind::Id, TokKind::Id]);
        assert_eq!(kinds("a -- c\rb").unwrap(), vec![TokKind::Id, TokKind::Id]);
        // No terminator: lexes as two minus signs and an identifier.
        assert_eq!(
            kinds("a --c").unwrap(),
            vec![TokKind::Id, TokKind::Minus, TokKind::Minus, TokKind::Id]
        );
        assert!(kinds("a ! b").is_err());
        assert!(kinds("a\u{a0}b").is_err());
        assert!(kinds("a\u{b}b").is_err());
        assert_eq!(kinds("a\u{c}\t\r\nb").unwrap().len(), 2);
    }

    #[test]
    fn keywords_and_operators() {
        use TokKind::*;
        assert_eq!(
            kinds("not NoT notx IS is_ <> < > <= >= = ( , ) + -").unwrap(),
            vec![Not, Not, Id, Is, Id, Ne, Lt, Gt, Le, Ge, Eq, LParen, Comma, RParen, Plus, Minus]
        );
        assert_eq!(kinds("$a _b A9").unwrap(), vec![Id, Id, Id]);
        assert!(kinds("é").is_err());
        assert_eq!(
            kinds("StartsWith ENDSWITH contains between in true FALSE null and or").unwrap(),
            vec![StartsWith, EndsWith, Contains, Between, In, True, False, Null, And, Or]
        );
    }
}
