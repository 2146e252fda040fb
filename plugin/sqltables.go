package plugin

import "strings"

// A conservative scan of SQL text for the tables it reads: the names after
// FROM (and the comma list that follows it) and after JOIN, nothing else.
// It exists so that a raw statement naming a table of another cluster is
// refused before it is sent (crossrefs.go). It never guesses more than
// that: a name it is unsure of is not reported, because a false report
// refuses a good statement while a miss only leaves the server to answer.
// So:
//   - FROM counts only at a query's own level (after SELECT, DELETE or
//     UPDATE at the same parenthesis depth) and not after DISTINCT: the
//     FROM of EXTRACT(x FROM col), substring(s FROM 2) and IS DISTINCT FROM
//     col is a column's, never a table's;
//   - strings (also E'', dollar-quoted), comments and $n parameters are
//     skipped; quoted identifiers keep their case, unquoted ones are folded
//     to lower case as PostgreSQL does;
//   - a name followed by "(" is a function (FROM generate_series(1, 3));
//   - a name a WITH clause defines is not a table.
// INSERT INTO, UPDATE's target and DELETE ... USING are not scanned.

// maxScanDepth bounds the parentheses the scan follows; deeper text is
// still read, but reports nothing.
const maxScanDepth = 32

// maxCTEs is how many WITH names the scan remembers; past that it reports
// nothing more (it cannot tell those names from tables).
const maxCTEs = 8

type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // an unquoted identifier or keyword, as written
	tQuoted         // a "quoted identifier", unescaped
	tDot
	tOpen
	tClose
	tComma
	tSemi
	tOther // operators, numbers, strings, parameters
)

// scanLevel is the scan's state at one parenthesis depth.
type scanLevel struct {
	query   bool // a SELECT, DELETE or UPDATE at this level: its FROM lists tables
	from    bool // in this level's FROM list: a comma starts another table
	expect  bool // the next name is a table
	cte     bool // in a WITH list, before its statement
	cteName bool // the next name is a WITH name
	seen    bool // a token was read at this level (WITH starts a statement)
}

// tableScanner reports the tables of a SQL text one at a time (next), so
// that a scan allocates nothing.
type tableScanner struct {
	src      string
	pos      int
	depth    int
	lv       [maxScanDepth + 1]scanLevel
	distinct bool // the previous token was DISTINCT
	over     int  // parentheses open past maxScanDepth
	ctes     [maxCTEs]string
	nctes    int
	blind    bool // too many WITH names: report nothing
}

// newTableScanner scans sql; fromList says sql starts inside a FROM list
// (db.Table's text: "users u, orders o").
func newTableScanner(sql string, fromList bool) tableScanner {
	sc := tableScanner{src: sql}
	if fromList {
		sc.lv[0] = scanLevel{query: true, from: true, expect: true}
	}
	return sc
}

// tableName is one table a scan found: schema is empty when the name is not
// qualified; nested says it is inside a parenthesised query (a subquery).
type tableName struct {
	schema, table string
	nested        bool
}

// next returns the next table, ok false at the end of the text.
func (sc *tableScanner) next() (tableName, bool) {
	for {
		kind, text := sc.token()
		if kind == tEOF {
			return tableName{}, false
		}
		if name, ok := sc.step(kind, text); ok && !sc.blind && !sc.isCTE(name.table) {
			return name, true
		}
	}
}

// step moves the scan over one token; ok when it completed a table name.
func (sc *tableScanner) step(kind tokKind, text string) (tableName, bool) {
	var kw string // text lower-cased, when it may be a keyword
	var buf [maxKeyword]byte
	if kind == tWord {
		kw = lowerKeyword(text, &buf)
	}
	afterDistinct := sc.distinct
	sc.distinct = kw == "distinct"
	if sc.over > 0 { // too deep: only the parentheses count
		switch kind {
		case tOpen:
			sc.over++
		case tClose:
			sc.over--
		}
		return tableName{}, false
	}
	l := &sc.lv[sc.depth]
	fresh := !l.seen
	l.seen = true
	switch kind {
	case tOpen:
		expect := l.expect
		l.expect = false
		sc.push(scanLevel{expect: expect, from: expect})
	case tClose:
		sc.pop()
	case tComma:
		l.expect = l.from
		l.cteName = l.cte
	case tSemi:
		sc.depth = 0
		sc.lv[0] = scanLevel{}
	case tWord:
		if sc.keyword(l, kw, afterDistinct, fresh) {
			return tableName{}, false
		}
		return sc.name(l, text, true)
	case tQuoted:
		return sc.name(l, text, false)
	default:
		l.expect = false
	}
	return tableName{}, false
}

// keyword applies a keyword to the level; false when text is no keyword
// the scan knows (then it may be a name). fresh: text is the level's first
// token.
func (sc *tableScanner) keyword(l *scanLevel, text string, afterDistinct, fresh bool) bool {
	switch text {
	case "select", "delete", "update":
		*l = scanLevel{query: true, seen: true}
	case "insert", "values":
		l.cte, l.cteName, l.expect = false, false, false
	case "with":
		// Only a statement's first word: not "with time zone", "with
		// ordinality".
		l.cte, l.cteName, l.expect = fresh, fresh, false
	case "from":
		if l.query && !afterDistinct {
			l.from, l.expect = true, true
		}
	case "join":
		l.from, l.expect = true, true
	case "only", "lateral", "recursive":
		// a table (or a subquery) still follows
	case "on", "using", "as":
		l.expect = false
	case "natural", "cross", "left", "right", "full", "inner", "outer":
	case "where", "group", "order", "having", "limit", "offset", "window", "returning",
		"fetch", "for", "set", "into", "union", "intersect", "except":
		l.from, l.expect = false, false
	default:
		return false
	}
	return true
}

// name takes an identifier: a table when one is expected and it is not a
// function's name. A qualified name (schema.table, db.schema.table) keeps
// its last two parts. fold: first is unquoted (PostgreSQL lower-cases it;
// done only for a name taken, so that a scan allocates nothing for names
// as GORM writes them).
func (sc *tableScanner) name(l *scanLevel, first string, fold bool) (tableName, bool) {
	if !l.cteName && !l.expect {
		return tableName{}, false
	}
	if fold {
		first = strings.ToLower(first)
	}
	if l.cteName {
		l.cteName = false
		sc.addCTE(first)
		return tableName{}, false
	}
	l.expect = false
	n := tableName{table: first, nested: sc.depth > 0 && l.query}
	for {
		save := sc.pos
		if k, _ := sc.token(); k != tDot {
			sc.pos = save
			break
		}
		k, part := sc.token()
		if k != tWord && k != tQuoted {
			sc.pos = save
			break
		}
		if k == tWord {
			part = strings.ToLower(part)
		}
		n.schema, n.table = n.table, part
	}
	save := sc.pos
	k, _ := sc.token()
	sc.pos = save
	if k == tOpen {
		return tableName{}, false // a function: FROM generate_series(1, 3)
	}
	return n, true
}

func (sc *tableScanner) push(l scanLevel) {
	if sc.depth == maxScanDepth {
		sc.over++
		return
	}
	sc.depth++
	sc.lv[sc.depth] = l
}

func (sc *tableScanner) pop() {
	if sc.depth > 0 {
		sc.depth--
	}
}

func (sc *tableScanner) addCTE(name string) {
	if sc.nctes == maxCTEs {
		sc.blind = true
		return
	}
	sc.ctes[sc.nctes] = name
	sc.nctes++
}

func (sc *tableScanner) isCTE(name string) bool {
	for _, c := range sc.ctes[:sc.nctes] {
		if c == name {
			return true
		}
	}
	return false
}

// token reads the next token, skipping blanks, comments and strings.
func (sc *tableScanner) token() (tokKind, string) {
	s := sc.src
	for sc.pos < len(s) {
		c := s[sc.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			sc.pos++
		case c == '-' && sc.at(1) == '-':
			sc.skipLine()
		case c == '/' && sc.at(1) == '*':
			sc.skipBlockComment()
		case c == '\'':
			sc.skipString(false)
			return tOther, ""
		case c == '"':
			return tQuoted, sc.quoted()
		case c == '$':
			sc.dollar()
			return tOther, ""
		case identStart(c):
			return sc.word()
		case c >= '0' && c <= '9':
			sc.number()
			return tOther, ""
		default:
			sc.pos++
			switch c {
			case '.':
				return tDot, ""
			case '(':
				return tOpen, ""
			case ')':
				return tClose, ""
			case ',':
				return tComma, ""
			case ';':
				return tSemi, ""
			}
			return tOther, ""
		}
	}
	return tEOF, ""
}

// at is the byte i after the current one, 0 past the end.
func (sc *tableScanner) at(i int) byte {
	if sc.pos+i < len(sc.src) {
		return sc.src[sc.pos+i]
	}
	return 0
}

func (sc *tableScanner) skipLine() {
	if i := strings.IndexByte(sc.src[sc.pos:], '\n'); i >= 0 {
		sc.pos += i + 1
		return
	}
	sc.pos = len(sc.src)
}

// skipBlockComment skips /* ... */, nested as PostgreSQL nests them.
func (sc *tableScanner) skipBlockComment() {
	depth := 0
	for sc.pos < len(sc.src) {
		switch {
		case sc.src[sc.pos] == '/' && sc.at(1) == '*':
			depth++
			sc.pos += 2
		case sc.src[sc.pos] == '*' && sc.at(1) == '/':
			depth--
			sc.pos += 2
			if depth == 0 {
				return
			}
		default:
			sc.pos++
		}
	}
}

// skipString skips a string: two quotes in it are one quote, and with
// backslashes (E-strings) a backslash escapes the next byte.
func (sc *tableScanner) skipString(backslashes bool) {
	sc.pos++ // the opening quote
	for sc.pos < len(sc.src) {
		c := sc.src[sc.pos]
		switch {
		case backslashes && c == '\\':
			sc.pos += 2
		case c == '\'' && sc.at(1) == '\'':
			sc.pos += 2
		case c == '\'':
			sc.pos++
			return
		default:
			sc.pos++
		}
	}
}

// quoted reads a "quoted identifier" ("" is a quote in it).
func (sc *tableScanner) quoted() string {
	start := sc.pos + 1
	var b *strings.Builder // only for a name with "" in it
	for i := start; i < len(sc.src); i++ {
		if sc.src[i] != '"' {
			continue
		}
		if i+1 < len(sc.src) && sc.src[i+1] == '"' {
			if b == nil {
				b = &strings.Builder{}
			}
			b.WriteString(sc.src[start : i+1])
			start = i + 2
			i++
			continue
		}
		sc.pos = i + 1
		if b == nil {
			return sc.src[start:i]
		}
		b.WriteString(sc.src[start:i])
		return b.String()
	}
	sc.pos = len(sc.src) // unterminated: nothing follows
	return ""
}

// dollar skips a $n parameter or a $tag$...$tag$ string.
func (sc *tableScanner) dollar() {
	s := sc.src
	i := sc.pos + 1
	if i < len(s) && s[i] >= '0' && s[i] <= '9' {
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		sc.pos = i
		return
	}
	for i < len(s) && (identStart(s[i]) || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i >= len(s) || s[i] != '$' {
		sc.pos++ // a lone $: an operator character
		return
	}
	tag := s[sc.pos : i+1]
	if end := strings.Index(s[i+1:], tag); end >= 0 {
		sc.pos = i + 1 + end + len(tag)
		return
	}
	sc.pos = len(s)
}

// word reads an identifier or keyword as written; one followed at once by
// a quote is a string's prefix (E'...', B'...', X'...').
func (sc *tableScanner) word() (tokKind, string) {
	s := sc.src
	start := sc.pos
	for sc.pos < len(s) && (identStart(s[sc.pos]) || s[sc.pos] >= '0' && s[sc.pos] <= '9' || s[sc.pos] == '$') {
		sc.pos++
	}
	if sc.pos < len(s) && s[sc.pos] == '\'' {
		w := s[start:sc.pos]
		sc.skipString(w == "e" || w == "E")
		return tOther, ""
	}
	return tWord, s[start:sc.pos]
}

// maxKeyword is longer than any keyword the scan knows.
const maxKeyword = 10

// lowerKeyword lower-cases a word short enough to be a keyword, in buf, so
// that matching keywords allocates nothing; "" for a longer word.
func lowerKeyword(w string, buf *[maxKeyword]byte) string {
	if len(w) > maxKeyword {
		return ""
	}
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return string(buf[:len(w)])
}

func (sc *tableScanner) number() {
	s := sc.src
	for sc.pos < len(s) && (s[sc.pos] >= '0' && s[sc.pos] <= '9' || s[sc.pos] == '.' || s[sc.pos] == '_' ||
		s[sc.pos] >= 'a' && s[sc.pos] <= 'z' || s[sc.pos] >= 'A' && s[sc.pos] <= 'Z') {
		sc.pos++
	}
}

func identStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c >= 0x80
}
