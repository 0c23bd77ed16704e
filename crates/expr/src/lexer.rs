//! Splits expression text into tokens, each with its 0-based character position.
//!
//! Keywords (`and or not in like exists true false`) are case-insensitive, as in Milvus
//! (`AND`, `Or`, `IN`, ...). `is` and `null` are not keywords here: the parser reads
//! them by context, so a dynamic key named `null` stays usable elsewhere.
//!
//! String escapes follow Milvus (C-style `\n \t \" \' \\ \xHH \uXXXX`, ...). An unknown
//! escape such as `\%` keeps its backslash so that LIKE patterns can escape wildcards.

use crate::error::{ExprError, Result};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Like,
    Exists,
    True,
    False,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sym {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Pow,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    /// Bitwise operators: in Milvus's grammar but not implemented by Milvus either.
    Amp,
    Pipe,
    Caret,
    Tilde,
    Shl,
    Shr,
    /// A lone `=`, a common slip for `==`.
    Assign,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// An unsigned integer literal; the parser applies a leading minus, which is how
    /// `-9223372036854775808` fits.
    Int(u64),
    Float(f64),
    Str(String),
    Ident(String),
    Template(String),
    Kw(Keyword),
    Sym(Sym),
    End,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    /// 0-based character offset of the token's first character.
    pub pos: usize,
    /// The token as written, for error messages.
    pub text: String,
}

/// What error messages call the end of input.
pub(crate) const END_TEXT: &str = "<end>";

pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = text.chars().collect();
    let mut lexer = Lexer { chars, pos: 0 };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_whitespace();
        let start = lexer.pos;
        let Some(c) = lexer.peek(0) else {
            tokens.push(Token { tok: Tok::End, pos: start, text: END_TEXT.into() });
            return Ok(tokens);
        };
        let tok = if c.is_ascii_digit() || (c == '.' && lexer.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            lexer.number()?
        } else if c == '"' || c == '\'' {
            Tok::Str(lexer.string(c)?)
        } else if c.is_ascii_alphabetic() || c == '_' || c == '$' {
            lexer.word()
        } else if c == '{' {
            lexer.template()?
        } else {
            Tok::Sym(lexer.symbol()?)
        };
        let text: String = lexer.chars[start..lexer.pos].iter().collect();
        tokens.push(Token { tok, pos: start, text });
    }
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
}

fn syntax(position: usize, token: impl Into<String>, message: impl Into<String>) -> ExprError {
    ExprError::Syntax { position, token: token.into(), message: message.into() }
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn skip_whitespace(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek(0).is_some_and(&pred) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn number(&mut self) -> Result<Tok> {
        let start = self.pos;
        if self.peek(0) == Some('0') && matches!(self.peek(1), Some('x' | 'X')) {
            self.pos += 2;
            let digits = self.take_while(|c| c.is_ascii_hexdigit());
            let text: String = self.chars[start..self.pos].iter().collect();
            self.reject_trailing_word(start, &text)?;
            return u64::from_str_radix(&digits, 16)
                .map(Tok::Int)
                .map_err(|_| syntax(start, &text, format!("invalid hexadecimal literal {text}")));
        }
        let mut is_float = false;
        self.take_while(|c| c.is_ascii_digit());
        if self.peek(0) == Some('.') {
            is_float = true;
            self.pos += 1;
            self.take_while(|c| c.is_ascii_digit());
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                is_float = true;
                self.pos += 1 + sign;
                self.take_while(|c| c.is_ascii_digit());
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        self.reject_trailing_word(start, &text)?;
        if is_float {
            let value: f64 = text.parse().map_err(|_| syntax(start, &text, format!("invalid number {text}")))?;
            if !value.is_finite() {
                return Err(syntax(start, &text, format!("number {text} is out of range")));
            }
            Ok(Tok::Float(value))
        } else {
            text.parse().map(Tok::Int).map_err(|_| syntax(start, &text, format!("integer {text} is out of the Int64 range")))
        }
    }

    /// `12abc` is one bad token, not a number followed by an identifier.
    fn reject_trailing_word(&mut self, start: usize, number: &str) -> Result<()> {
        if self.peek(0).is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            let rest = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
            let text = format!("{number}{rest}");
            return Err(syntax(start, &text, format!("invalid number '{text}'")));
        }
        Ok(())
    }

    fn string(&mut self, quote: char) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek(0) else {
                let text: String = self.chars[start..].iter().collect();
                return Err(syntax(start, text, format!("unterminated string literal starting at position {start}")));
            };
            self.pos += 1;
            if c == quote {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escape_pos = self.pos - 1;
            let Some(e) = self.peek(0) else { continue };
            self.pos += 1;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'v' => out.push('\x0b'),
                '0' => out.push('\0'),
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'x' => out.push(self.code_point(2, escape_pos)?),
                'u' => out.push(self.code_point(4, escape_pos)?),
                'U' => out.push(self.code_point(8, escape_pos)?),
                // Kept verbatim: LIKE reads `\%` and `\_` as literal wildcards.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn code_point(&mut self, digits: usize, escape_pos: usize) -> Result<char> {
        let hex: String = self.chars.iter().skip(self.pos).take(digits).collect();
        let value = (hex.len() == digits && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(&hex, 16).ok())
            .flatten()
            .and_then(char::from_u32);
        let Some(c) = value else {
            let text: String = self.chars[escape_pos..(self.pos + hex.len()).min(self.chars.len())].iter().collect();
            return Err(syntax(escape_pos, &text, format!("invalid escape sequence {text}")));
        };
        self.pos += digits;
        Ok(c)
    }

    fn word(&mut self) -> Tok {
        let first = self.peek(0);
        self.pos += 1;
        let rest = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        let word = format!("{}{rest}", first.unwrap_or_default());
        let keyword = match word.to_ascii_lowercase().as_str() {
            "and" => Keyword::And,
            "or" => Keyword::Or,
            "not" => Keyword::Not,
            "in" => Keyword::In,
            "like" => Keyword::Like,
            "exists" => Keyword::Exists,
            "true" => Keyword::True,
            "false" => Keyword::False,
            _ => return Tok::Ident(word),
        };
        Tok::Kw(keyword)
    }

    fn template(&mut self) -> Result<Tok> {
        let start = self.pos;
        self.pos += 1;
        self.skip_whitespace();
        let name = if self.peek(0).is_some_and(|c| c.is_ascii_alphabetic() || c == '_') {
            self.take_while(|c| c.is_ascii_alphanumeric() || c == '_')
        } else {
            String::new()
        };
        self.skip_whitespace();
        if name.is_empty() || self.peek(0) != Some('}') {
            let end = (self.pos + 1).min(self.chars.len());
            let text: String = self.chars[start..end].iter().collect();
            return Err(syntax(start, &text, format!("invalid template '{text}': expected {{name}}")));
        }
        self.pos += 1;
        Ok(Tok::Template(name))
    }

    fn symbol(&mut self) -> Result<Sym> {
        let c = self.peek(0).unwrap_or_default();
        let next = self.peek(1);
        let (sym, len) = match (c, next) {
            ('*', Some('*')) => (Sym::Pow, 2),
            ('=', Some('=')) => (Sym::Eq, 2),
            ('!', Some('=')) => (Sym::Ne, 2),
            ('<', Some('=')) => (Sym::Le, 2),
            ('>', Some('=')) => (Sym::Ge, 2),
            ('<', Some('<')) => (Sym::Shl, 2),
            ('>', Some('>')) => (Sym::Shr, 2),
            ('&', Some('&')) => (Sym::AndAnd, 2),
            ('|', Some('|')) => (Sym::OrOr, 2),
            ('(', _) => (Sym::LParen, 1),
            (')', _) => (Sym::RParen, 1),
            ('[', _) => (Sym::LBracket, 1),
            (']', _) => (Sym::RBracket, 1),
            (',', _) => (Sym::Comma, 1),
            ('+', _) => (Sym::Plus, 1),
            ('-', _) => (Sym::Minus, 1),
            ('*', _) => (Sym::Star, 1),
            ('/', _) => (Sym::Slash, 1),
            ('%', _) => (Sym::Percent, 1),
            ('<', _) => (Sym::Lt, 1),
            ('>', _) => (Sym::Gt, 1),
            ('!', _) => (Sym::Bang, 1),
            ('&', _) => (Sym::Amp, 1),
            ('|', _) => (Sym::Pipe, 1),
            ('^', _) => (Sym::Caret, 1),
            ('~', _) => (Sym::Tilde, 1),
            ('=', _) => (Sym::Assign, 1),
            _ => return Err(syntax(self.pos, c.to_string(), format!("unexpected character '{c}'"))),
        };
        self.pos += len;
        Ok(sym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Tok> {
        tokenize(text).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn numbers_strings_and_keywords() {
        assert_eq!(
            toks("a >= 1.5e3 AND b != 'x\\'y' || 0x1F"),
            vec![
                Tok::Ident("a".into()),
                Tok::Sym(Sym::Ge),
                Tok::Float(1500.0),
                Tok::Kw(Keyword::And),
                Tok::Ident("b".into()),
                Tok::Sym(Sym::Ne),
                Tok::Str("x'y".into()),
                Tok::Sym(Sym::OrOr),
                Tok::Int(31),
                Tok::End
            ]
        );
        assert_eq!(
            toks(".5 5. {ids} $meta"),
            vec![Tok::Float(0.5), Tok::Float(5.0), Tok::Template("ids".into()), Tok::Ident("$meta".into()), Tok::End]
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(toks(r#""a\n\u00e9\%""#)[0], Tok::Str("a\né\\%".into()));
    }

    #[test]
    fn positions_are_characters() {
        let tokens = tokenize("'é' == x").unwrap();
        assert_eq!(tokens[1].pos, 4);
        assert_eq!(tokens[2].pos, 7);
    }

    #[test]
    fn errors() {
        let err = tokenize("a == 'abc").unwrap_err().to_string();
        assert!(err.contains("unterminated string literal starting at position 5"), "{err}");
        let err = tokenize("a @ 1").unwrap_err().to_string();
        assert!(err.contains("position 2") && err.contains("'@'"), "{err}");
        assert!(tokenize("12ab").is_err());
        assert!(tokenize("99999999999999999999").is_err());
    }
}
