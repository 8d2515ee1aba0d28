"""Secret scan over the committed files (called by scripts/check-deploy.sh with a file holding
`git ls-files -z`).

Fails on: private keys; well-known token formats; Tor hashed control passwords; credentialed
URLs (scheme://user:password@host) whose password is not a placeholder and whose host is not
loopback or an example domain; password/secret/token assignments with a literal value in
config-like files (YAML, env, JSON, TOML, shell, Dockerfile, Markdown, torrc, ...);
`redis-cli -a <value>` and `--requirepass <value>` with a literal; and any committed env file
other than an *.example template.

Placeholders pass: empty values, variable references ($X, ${X}, $(X), %X%), <...>, ALL_CAPS
names, values containing changeme, placeholder, example, dummy, redacted, xxx, ***, "...",
"your-", and a short list of well-known fake passwords used by redaction tests (hunter2, s3cret...). A line may opt out with the marker `secret-scan: allow` (for test fixtures that a
reviewer has looked at). Prints a one-line summary; findings and exit 1 on failure.
"""

import os
import re
import sys

CONFIG_EXT = {
    ".yml", ".yaml", ".json", ".toml", ".ini", ".cfg", ".conf", ".sh", ".bash", ".md", ".txt",
    ".properties", ".example", ".service", ".tf", ".tfvars",
}
CONFIG_NAMES = {"Dockerfile", "torrc", "Makefile", ".env.example", "docker-compose.yml"}
SKIP_NAMES = {"Cargo.lock"}
ALLOW_MARK = "secret-scan: allow"

PLACEHOLDER_WORDS = re.compile(
    r"changeme|change-me|change_me|placeholder|example|dummy|redacted|xxx|\*\*\*|\.\.\.|your[-_]|"
    r"not-a-secret|fake",
    re.I,
)
# Well-known fake passwords used in redaction tests; they protect nothing.
KNOWN_FAKE = {"hunter2", "s3cret", "secret", "sekrit", "topsecret", "letmein", "password1", "passw0rd",
              "pass123", "test", "testing", "foobar", "foo", "bar", "abc123", "12345", "123456"}
GENERIC_WORDS = {"password", "passwd", "pass", "secret", "token", "pw", "user", "username", "none", "null",
                 "true", "false", "required", "optional", "string"}
LOCAL_HOSTS = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\]|::1|0\.0\.0\.0|[^/]*\.example(\.com|\.org|\.net)?|"
                         r"example\.(com|org|net)|[^/]*\.(test|invalid|localhost))$", re.I)

TOKEN_PATTERNS = [
    ("private key", re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----")),
    ("AWS access key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})\b")),
    ("GitLab token", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}\b")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    ("Stripe key", re.compile(r"\b[sr]k_live_[0-9A-Za-z]{16,}\b")),
    ("npm token", re.compile(r"\bnpm_[A-Za-z0-9]{36}\b")),
    ("PyPI token", re.compile(r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{20,}")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("Tor hashed control password", re.compile(r"\b16:[0-9A-Fa-f]{58}\b")),
]
# scheme://user:password@host
CRED_URL = re.compile(r"\b([a-z][a-z0-9+.-]{1,20})://([^\s/:@'\"`]*):([^\s@/'\"`]+)@([^\s/:?#'\"`]+)", re.I)
ASSIGN = re.compile(
    r"""(?ix)
    (?<![\w{$.-])(?P<key>[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z0-9_.-]*)
    ["']?\s*(?::|=|:=)\s*
    (?P<val>"[^"]*"|'[^']*'|[^\s,#]+)
    """
)
CLI_SECRET = re.compile(r"(?:redis-cli\b[^\n]*?\s-a|--requirepass|--password)\s+(?P<val>\"[^\"]*\"|'[^']*'|\S+)")


def is_placeholder(value):
    v = value.strip().strip("\"'`").rstrip(",;)")
    if not v or v in {"-", "..."}:
        return True
    if v[0] in "$%<{" or v.startswith("(") or "$(" in v or "${" in v:
        return True
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", v):
        return True
    if v.lower() in GENERIC_WORDS or v.lower() in KNOWN_FAKE:
        return True
    return bool(PLACEHOLDER_WORDS.search(v))


def looks_secret(value):
    """A literal after `password:` or `-a` is judged a secret only if it looks like one (at least
    8 characters with a digit, or 12 with mixed case), so prose such as `password: see below`
    in a message or a document does not trip the scan."""
    v = value.strip().strip("\"'`").rstrip(",;)")
    if len(v) < 8 or " " in v:
        return False
    return bool(re.search(r"[0-9]", v)) or (len(v) >= 12 and re.search(r"[a-z]", v) and re.search(r"[A-Z]", v))


def is_config_like(path):
    base = os.path.basename(path)
    ext = os.path.splitext(base)[1]
    return base in CONFIG_NAMES or ext in CONFIG_EXT or base.startswith(".env") or base.endswith(".env")


def scan_line(path, line, config_like):
    found = []
    for label, pat in TOKEN_PATTERNS:
        if pat.search(line):
            found.append(label)
    for m in CRED_URL.finditer(line):
        scheme, _user, password, host = m.groups()
        if scheme.lower() in ("http", "https") and not password:
            continue
        if not is_placeholder(password) and not LOCAL_HOSTS.match(host):
            found.append(f"credentialed URL {scheme}://…:…@{host}")
    for m in CLI_SECRET.finditer(line):
        if not is_placeholder(m.group("val")) and looks_secret(m.group("val")):
            found.append("password on a command line")
    if config_like:
        for m in ASSIGN.finditer(line):
            key, val = m.group("key"), m.group("val")
            # A key that only names a secret (e.g. `key: REDIS_PASSWORD`, `secretKeyRef:`)
            # or a value that is a reference is not a secret value.
            if key.lower().endswith(("ref", "refs", "_file", "file", "name", "names", "path")):
                continue
            if val in ("|", ">", "|-", ">-", "{", "[") or is_placeholder(val) or not looks_secret(val):
                continue
            found.append(f"literal value for {key}")
    return found


def main():
    files = [f for f in open(sys.argv[1], "rb").read().decode().split("\0") if f]
    findings, scanned = [], 0
    for path in files:
        base = os.path.basename(path)
        if base in SKIP_NAMES or not os.path.isfile(path):
            continue
        if (base == ".env" or base.endswith(".env")) and not base.endswith(".example"):
            findings.append(f"{path}: env files hold secrets and must not be committed (commit {base}.example)")
            continue
        data = open(path, "rb").read()
        if b"\0" in data[:8192]:
            continue  # binary
        scanned += 1
        text = data.decode("utf-8", "replace")
        config_like = is_config_like(path)
        for n, line in enumerate(text.splitlines(), 1):
            if ALLOW_MARK in line:
                continue
            for what in scan_line(path, line, config_like):
                findings.append(f"{path}:{n}: {what}")
    for f in findings:
        print(f, file=sys.stderr)
    if findings:
        print(f"{len(findings)} possible secret(s) in committed files; replace them with placeholders "
              f"or environment references (or mark a reviewed test fixture with '{ALLOW_MARK}')", file=sys.stderr)
        sys.exit(1)
    print(f"{scanned} committed text files, no password, token or credentialed URL")


if __name__ == "__main__":
    main()
