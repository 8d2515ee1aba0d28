//! Values from the inline scripts of Danawa's pages (`var oGlobalSetting = { nGroup: "12", ... }`,
//! `ENP_VAR.collect.soldOut = 'Y';`): a tolerant reader of JavaScript object literals that works
//! on the raw page text, because script bodies are not HTML and hold no markup to select.

/// The entries of one object literal, in source order. String values are unescaped; any other
/// value (number, boolean, nested object or array) is kept as its trimmed source text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsObject {
    entries: Vec<(String, String)>,
}

impl JsObject {
    /// The value of `key`; the first one when a key repeats.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The value of `key` unless it is missing or empty.
    pub fn get_non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    pub fn entries(&self) -> &[(String, String)] {
        &self.entries
    }
}

/// The object literal assigned to `name` (`name = { ... }`), read up to its closing brace or
/// to the end of the text when the page was cut short.
/// Assignments of anything else (`x = window.x || {}`) are passed over.
pub fn find_object(text: &str, name: &str) -> Option<JsObject> {
    let mut cursor = assignments(text, name).find(|cursor| cursor.peek() == Some('{'))?;
    Some(read_object(&mut cursor))
}

/// The value first assigned to `name` (`name = 'Y';`): a string unescaped, anything else as
/// source.
pub fn find_value(text: &str, name: &str) -> Option<String> {
    let mut cursor = assignments(text, name).next()?;
    read_value(&mut cursor)
}

/// The string chunks of a Next.js page's flight data (`self.__next_f.push([1,"…"])`), each
/// with its JavaScript escapes decoded. A chunk cut off by the end of the text is kept as far
/// as it goes.
pub fn next_flight_strings(text: &str) -> Vec<String> {
    const PUSH: &str = "self.__next_f.push(";
    let mut chunks = Vec::new();
    let mut from = 0;
    while let Some(found) = text.get(from..).and_then(|rest| rest.find(PUSH)) {
        let mut cursor = Cursor { text, pos: from + found + PUSH.len() };
        from = cursor.pos;
        cursor.skip_spaces();
        if cursor.bump() != Some('[') {
            continue;
        }
        // The chunk type (`1` for strings), then a comma.
        while cursor.peek().is_some_and(|c| c.is_ascii_digit() || c.is_whitespace()) {
            cursor.bump();
        }
        if cursor.bump() != Some(',') {
            continue;
        }
        cursor.skip_spaces();
        if let Some(quote @ ('"' | '\'')) = cursor.peek() {
            chunks.push(read_string(&mut cursor, quote));
            from = cursor.pos;
        }
    }
    chunks
}

/// A cursor just after `name =` (and its whitespace) for each occurrence of `name` followed by
/// a plain assignment. Uses like `name.key` or `name == x` are passed over.
fn assignments<'a>(text: &'a str, name: &'a str) -> impl Iterator<Item = Cursor<'a>> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(found) = text.get(from..).and_then(|rest| rest.find(name)) {
            let start = from + found;
            let after = start + name.len();
            from = after;
            // `name` must be a whole identifier, not the end of a longer one.
            let before = text.get(..start).and_then(|head| head.chars().next_back());
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let mut cursor = Cursor { text, pos: after };
            cursor.skip_spaces();
            if cursor.peek() == Some('=') {
                cursor.bump();
                if cursor.peek() != Some('=') {
                    cursor.skip_spaces();
                    return Some(cursor);
                }
            }
        }
        None
    })
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_spaces(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    /// Whitespace and `//` or `/* */` comments.
    fn skip_blank(&mut self) {
        loop {
            self.skip_spaces();
            let rest = self.rest();
            if rest.starts_with("//") {
                let skip = rest.find('\n').unwrap_or(rest.len());
                self.pos += skip;
            } else if rest.starts_with("/*") {
                let skip = rest.find("*/").map_or(rest.len(), |at| at + 2);
                self.pos += skip;
            } else {
                return;
            }
        }
    }
}

fn read_object(cursor: &mut Cursor<'_>) -> JsObject {
    let mut object = JsObject::default();
    cursor.bump(); // the opening brace
    loop {
        cursor.skip_blank();
        let key = match cursor.peek() {
            None | Some('}') => return object,
            Some(',') => {
                cursor.bump();
                continue;
            }
            Some(quote @ ('"' | '\'')) => read_string(cursor, quote),
            Some(_) => read_identifier(cursor),
        };
        cursor.skip_blank();
        // Anything but `key: value` here means the literal is not what we expect (or was
        // cut): keep what was read so far.
        if key.is_empty() || cursor.peek() != Some(':') {
            return object;
        }
        cursor.bump();
        cursor.skip_blank();
        match read_value(cursor) {
            Some(value) => object.entries.push((key, value)),
            None => return object,
        }
    }
}

fn read_identifier(cursor: &mut Cursor<'_>) -> String {
    let mut ident = String::new();
    while let Some(c) = cursor.peek().filter(|c| c.is_alphanumeric() || *c == '_' || *c == '$') {
        ident.push(c);
        cursor.bump();
    }
    ident
}

fn read_value(cursor: &mut Cursor<'_>) -> Option<String> {
    match cursor.peek()? {
        quote @ ('"' | '\'') => Some(read_string(cursor, quote)),
        '{' | '[' => Some(read_nested(cursor)),
        _ => {
            let start = cursor.pos;
            while cursor.peek().is_some_and(|c| !matches!(c, ',' | '}' | ';' | '\n')) {
                cursor.bump();
            }
            Some(cursor.text.get(start..cursor.pos).unwrap_or("").trim().to_owned())
        }
    }
}

/// A nested object or array, kept as source text (strings inside may hold brackets).
fn read_nested(cursor: &mut Cursor<'_>) -> String {
    let start = cursor.pos;
    let mut depth = 0usize;
    while let Some(c) = cursor.peek() {
        match c {
            '"' | '\'' => {
                read_string(cursor, c);
                continue;
            }
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    cursor.bump();
                    break;
                }
            }
            _ => {}
        }
        cursor.bump();
    }
    cursor.text.get(start..cursor.pos).unwrap_or("").to_owned()
}

/// A quoted string with its JavaScript escapes decoded. An unterminated string ends at the
/// end of the text.
fn read_string(cursor: &mut Cursor<'_>, quote: char) -> String {
    cursor.bump();
    let mut out = String::new();
    while let Some(c) = cursor.bump() {
        match c {
            c if c == quote => break,
            '\\' => read_escape(cursor, &mut out),
            c => out.push(c),
        }
    }
    out
}

fn read_escape(cursor: &mut Cursor<'_>, out: &mut String) {
    let Some(c) = cursor.bump() else { return };
    match c {
        'n' => out.push('\n'),
        't' => out.push('\t'),
        'r' => out.push('\r'),
        'b' => out.push('\u{8}'),
        'f' => out.push('\u{c}'),
        'v' => out.push('\u{b}'),
        '0' => out.push('\0'),
        '\n' => {} // a line continuation
        'x' => push_code_unit(cursor, out, 2),
        'u' => push_code_unit(cursor, out, 4),
        other => out.push(other),
    }
}

/// `\xHH` or `\uHHHH`, joining a UTF-16 surrogate pair when the low half follows.
fn push_code_unit(cursor: &mut Cursor<'_>, out: &mut String, width: usize) {
    let Some(unit) = read_hex(cursor, width) else {
        out.push(char::REPLACEMENT_CHARACTER);
        return;
    };
    if (0xD800..0xDC00).contains(&unit) && cursor.rest().starts_with("\\u") {
        let saved = cursor.pos;
        cursor.pos += 2;
        if let Some(low) = read_hex(cursor, 4).filter(|low| (0xDC00..0xE000).contains(low)) {
            let joined = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
            out.push(char::from_u32(joined).unwrap_or(char::REPLACEMENT_CHARACTER));
            return;
        }
        cursor.pos = saved;
    }
    out.push(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
}

fn read_hex(cursor: &mut Cursor<'_>, width: usize) -> Option<u32> {
    let digits = cursor.rest().get(..width)?;
    let value = u32::from_str_radix(digits, 16).ok()?;
    // from_str_radix accepts a leading `+`: not a hex escape.
    if digits.starts_with('+') {
        return None;
    }
    cursor.pos += width;
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_unquoted_keys_and_escaped_strings() {
        let page = r#"<script>
            var oGlobalSetting = {
                nGroup: "12",
                nProductCode: 16559657,
                sProductName: "APPLE 2022 iPad Air 5\uc138\ub300 (256GB)", // a comment
                nested: {a: "}", b: [1, 2]},
                'single': 'it\'s',
            };
            var other = 1;
        </script>"#;
        let object = find_object(page, "oGlobalSetting").expect("object");
        assert_eq!(object.get("nGroup"), Some("12"));
        assert_eq!(object.get("nProductCode"), Some("16559657"));
        assert_eq!(object.get("sProductName"), Some("APPLE 2022 iPad Air 5세대 (256GB)"));
        assert_eq!(object.get("nested"), Some(r#"{a: "}", b: [1, 2]}"#));
        assert_eq!(object.get("single"), Some("it's"));
    }

    #[test]
    fn reads_json_style_objects() {
        let page = r#"var oProductDescriptionInfo = {"makerName":"CJ\uc81c\uc77c\uc81c\ub2f9","productName":"\ud587\ubc18","prodType":"T3"};"#;
        let object = find_object(page, "oProductDescriptionInfo").expect("object");
        assert_eq!(object.get("makerName"), Some("CJ제일제당"));
        assert_eq!(object.get("prodType"), Some("T3"));
    }

    #[test]
    fn skips_assignments_of_other_values() {
        let page = "var xoGlobalSetting = { a: 0 };\nwindow.oGlobalSetting = window.oGlobalSetting || null;\nvar oGlobalSetting = { a: 1 };";
        assert_eq!(
            find_object(page, "oGlobalSetting").and_then(|o| o.get("a").map(str::to_owned)).as_deref(),
            Some("1")
        );
    }

    #[test]
    fn skips_uses_that_are_not_assignments() {
        let page = "if (ENP_VAR.collect.soldOut == 'Y') {}\nENP_VAR.collect.soldOut = 'Y';";
        assert_eq!(find_value(page, "ENP_VAR.collect.soldOut").as_deref(), Some("Y"));
        assert_eq!(find_value("x = 1", "ENP_VAR.collect.soldOut"), None);
    }

    #[test]
    fn survives_truncation_and_bad_escapes() {
        let page = r#"var o = { a: "1", b: "\u12"#;
        let object = find_object(page, "o").expect("object");
        assert_eq!(object.get("a"), Some("1"));
        assert_eq!(object.get("b"), Some("\u{fffd}12"));
        assert_eq!(find_value(r#"v = "\ud83d\ude00""#, "v").as_deref(), Some("😀"));
        assert_eq!(find_value(r#"v = "\ud83d""#, "v").as_deref(), Some("\u{fffd}"));
    }
}
