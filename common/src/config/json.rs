//! A small JSON reader that keeps the byte offset of every value, so config errors can name
//! the line and column of the value at fault (serde_json forgets positions once parsed).

use std::fmt;

/// A JSON value and where it starts in the source text.
#[derive(Debug, Clone)]
pub struct Node {
    pub offset: usize,
    pub value: Value,
}

#[derive(Debug, Clone)]
pub enum Value {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Node>),
    /// Members in source order; duplicates are kept so the checker can report them.
    Object(Vec<(String, Node)>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// A syntax error with its byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses a whole document: one value, surrounded only by white space.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut reader = Reader { text, bytes: text.as_bytes(), pos: 0, depth: 0 };
    let node = reader.value()?;
    reader.skip_ws();
    if reader.pos < reader.bytes.len() {
        return Err(reader.error("unexpected text after the JSON document"));
    }
    Ok(node)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

const MAX_DEPTH: usize = 64;

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Reader<'_> {
    fn error(&self, message: &str) -> SyntaxError {
        SyntaxError { offset: self.pos, message: message.to_owned() }
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Node, SyntaxError> {
        self.skip_ws();
        let offset = self.pos;
        let value = match self.bytes.get(self.pos) {
            None => return Err(self.error("unexpected end of input, expected a value")),
            Some(b'{') => self.nested(Self::object)?,
            Some(b'[') => self.nested(Self::array)?,
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a value")),
        };
        Ok(Node { offset, value })
    }

    fn nested(&mut self, f: fn(&mut Self) -> Result<Value, SyntaxError>) -> Result<Value, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let value = f(self);
        self.depth -= 1;
        value
    }

    fn literal(&mut self, word: &str, value: Value) -> Result<Value, SyntaxError> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("expected a value"))
        }
    }

    fn number(&mut self) -> Result<Value, SyntaxError> {
        let start = self.pos;
        while matches!(self.bytes.get(self.pos), Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')) {
            self.pos += 1;
        }
        let text = &self.text[start..self.pos];
        if serde_json::from_str::<serde_json::Number>(text).is_err() {
            self.pos = start;
            return Err(self.error("invalid number"));
        }
        Ok(Value::Number(text.to_owned()))
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.bytes.get(self.pos) {
                None => {
                    self.pos = start;
                    return Err(self.error("unterminated string"));
                }
                Some(b'"') => break,
                Some(b'\\') => self.pos += 2,
                Some(_) => self.pos += 1,
            }
        }
        self.pos += 1;
        // serde_json does the unescaping; the span is already known to be one string.
        serde_json::from_str(&self.text[start..self.pos])
            .map_err(|e| SyntaxError { offset: start, message: format!("invalid string: {e}") })
    }

    fn array(&mut self) -> Result<Value, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, SyntaxError> {
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a member name in double quotes"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error("expected ':' after the member name"));
            }
            self.pos += 1;
            members.push((key, self.value()?));
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offsets_of_nested_values() {
        let text = "{\n  \"a\": [1, \"x\"],\n  \"b\": {\"c\": true}\n}";
        let root = parse(text).expect("valid JSON");
        let a = root.get("a").expect("a");
        let Value::Array(items) = &a.value else { panic!("array expected") };
        assert_eq!(line_col(text, items[1].offset), (2, 12));
        let c = root.get("b").and_then(|b| b.get("c")).expect("b.c");
        assert_eq!(line_col(text, c.offset), (3, 14));
    }

    #[test]
    fn reports_where_syntax_breaks() {
        let text = "{\n  \"a\": 1,\n  \"b\" 2\n}";
        let err = parse(text).expect_err("invalid");
        assert_eq!(line_col(text, err.offset), (3, 7));
        assert!(parse("[1, 2").is_err());
        assert!(parse("{\"a\": 1,}").is_err());
        assert!(parse("\"unterminated").is_err());
        assert!(parse("[1] x").is_err());
    }

    #[test]
    fn unescapes_strings_and_counts_columns_in_characters() {
        let text = "{\"이름\": \"a\\u0041\\n\"}";
        let root = parse(text).expect("valid");
        let Some(Node { value: Value::String(s), offset }) = root.get("이름") else { panic!() };
        assert_eq!(s, "aA\n");
        assert_eq!(line_col(text, *offset), (1, 8));
    }
}
