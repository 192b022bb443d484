// jinja-parse.cpp — template source -> tree (jinja-ast.h). Three stages: split the source into
// text and tags applying whitespace control (trim_blocks and lstrip_blocks on, as Hugging Face
// renders chat templates), tokenize each tag, and parse statements and expressions by recursive
// descent with Jinja2's operator precedence:
//   cond-expr < or < and < not < comparisons/in/is < + - < ~ < * / // % < ** < unary < postfix
// (filters and tests bind to the unary expression before them: `messages|length - 1`).
#include "jinja-ast.h"

#include <cstring>

namespace tern::jinja {

namespace {

enum class pk { text, expr, stmt };
struct piece {
    pk kind;
    std::string s;
    int line;
};

int count_lines(const std::string &s, size_t a, size_t b) {
    int n = 0;
    for (size_t i = a; i < b && i < s.size(); i++) n += s[i] == '\n';
    return n;
}

// Position of the closing delimiter `close` of a tag whose content starts at p, skipping string
// literals; npos when unterminated.
size_t find_close(const std::string &s, size_t p, const char *close) {
    char q = 0;
    for (size_t i = p; i + 1 < s.size(); i++) {
        const char c = s[i];
        if (q) {
            if (c == '\\') i++;
            else if (c == q) q = 0;
        } else if (c == '\'' || c == '"') {
            q = c;
        } else if (c == close[0] && s[i + 1] == close[1]) {
            return i;
        }
    }
    return std::string::npos;
}

std::vector<piece> split_source(const std::string &src) {
    std::vector<piece> out;
    size_t pos = 0;
    int line = 1;
    bool strip_next = false, trim_nl = false;
    auto push_text = [&](std::string t) {
        if (strip_next) {
            size_t i = 0;
            while (i < t.size() && std::isspace((unsigned char)t[i])) i++;
            t.erase(0, i);
        } else if (trim_nl) {
            if (t.compare(0, 1, "\n") == 0) t.erase(0, 1);
            else if (t.compare(0, 2, "\r\n") == 0) t.erase(0, 2);
        }
        strip_next = trim_nl = false;
        if (!t.empty()) out.push_back({pk::text, std::move(t), line});
    };
    while (pos < src.size()) {
        size_t open = pos;
        for (;;) {
            open = src.find('{', open);
            if (open == std::string::npos || open + 1 >= src.size()) {
                open = std::string::npos;
                break;
            }
            const char c = src[open + 1];
            if (c == '{' || c == '%' || c == '#') break;
            open++;
        }
        if (open == std::string::npos) {
            push_text(src.substr(pos));
            break;
        }
        const char kindc = src[open + 1];
        const char lc = open + 2 < src.size() ? src[open + 2] : 0;
        std::string text = src.substr(pos, open - pos);
        if (lc == '-') {
            while (!text.empty() && std::isspace((unsigned char)text.back())) text.pop_back();
        } else if (kindc != '{' && lc != '+') { // lstrip_blocks
            size_t i = text.size();
            while (i > 0 && (text[i - 1] == ' ' || text[i - 1] == '\t')) i--;
            const bool line_start = i > 0 ? text[i - 1] == '\n' : pos == 0; // only blanks before the tag on its line
            if (line_start) text.erase(i);
        }
        push_text(std::move(text));
        line += count_lines(src, pos, open);
        const char *close = kindc == '{' ? "}}" : kindc == '%' ? "%}" : "#}";
        const size_t body = open + 2 + ((lc == '-' || lc == '+') ? 1 : 0);
        const size_t end = kindc == '#' ? src.find("#}", body) : find_close(src, body, close);
        if (end == std::string::npos)
            throw error("line " + std::to_string(line) + ": unterminated " + std::string(src, open, 2) + " tag");
        const char rc = end > body ? src[end - 1] : 0;
        std::string inner = src.substr(body, end - body - ((rc == '-' || rc == '+') && end > body ? 1 : 0));
        if (kindc != '#') out.push_back({kindc == '{' ? pk::expr : pk::stmt, inner, line});
        line += count_lines(src, open, end + 2);
        pos = end + 2;
        strip_next = rc == '-';
        trim_nl = !strip_next && kindc != '{' && rc != '+';
        // {% raw %} ... {% endraw %}: the text in between is kept as it is.
        if (kindc == '%') {
            size_t a = 0, b = inner.size();
            while (a < b && std::isspace((unsigned char)inner[a])) a++;
            while (b > a && std::isspace((unsigned char)inner[b - 1])) b--;
            if (inner.compare(a, b - a, "raw") == 0) {
                out.pop_back();
                size_t e = pos;
                for (;;) {
                    e = src.find("{%", e);
                    if (e == std::string::npos) throw error("line " + std::to_string(line) + ": raw block without endraw");
                    size_t c2 = src.find("%}", e);
                    if (c2 == std::string::npos) throw error("unterminated endraw tag");
                    std::string t = src.substr(e + 2, c2 - e - 2);
                    size_t x = t.find_first_not_of(" \t\n-+"), y = t.find_last_not_of(" \t\n-+");
                    if (x != std::string::npos && t.substr(x, y - x + 1) == "endraw") {
                        std::string raw = src.substr(pos, e - pos);
                        if (src[e + 2] == '-')
                            while (!raw.empty() && std::isspace((unsigned char)raw.back())) raw.pop_back();
                        push_text(std::move(raw));
                        line += count_lines(src, pos, c2 + 2);
                        pos = c2 + 2;
                        strip_next = src[c2 - 1] == '-';
                        trim_nl = !strip_next;
                        break;
                    }
                    e = c2;
                }
            }
        }
    }
    return out;
}

// ---- tokens inside a tag ----
enum class tk { name, integer, number, string, op, end };
struct token {
    tk kind;
    std::string s;
    int64_t i = 0;
    double d = 0;
};

std::vector<token> tokenize(const std::string &s, int line) {
    std::vector<token> out;
    size_t i = 0;
    auto fail = [&](const std::string &m) { throw error("line " + std::to_string(line) + ": " + m); };
    while (i < s.size()) {
        const char c = s[i];
        if (std::isspace((unsigned char)c)) {
            i++;
            continue;
        }
        if (std::isalpha((unsigned char)c) || c == '_') {
            size_t j = i;
            while (j < s.size() && (std::isalnum((unsigned char)s[j]) || s[j] == '_')) j++;
            out.push_back({tk::name, s.substr(i, j - i)});
            i = j;
        } else if (std::isdigit((unsigned char)c)) {
            size_t j = i;
            while (j < s.size() && (std::isdigit((unsigned char)s[j]) || s[j] == '_')) j++;
            bool flt = false;
            if (j + 1 < s.size() && s[j] == '.' && std::isdigit((unsigned char)s[j + 1])) {
                flt = true;
                j++;
                while (j < s.size() && std::isdigit((unsigned char)s[j])) j++;
            }
            if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
                size_t k = j + 1;
                if (k < s.size() && (s[k] == '+' || s[k] == '-')) k++;
                if (k < s.size() && std::isdigit((unsigned char)s[k])) {
                    flt = true;
                    j = k;
                    while (j < s.size() && std::isdigit((unsigned char)s[j])) j++;
                }
            }
            std::string num;
            for (size_t k = i; k < j; k++)
                if (s[k] != '_') num += s[k];
            token t{flt ? tk::number : tk::integer, num};
            if (flt) t.d = std::strtod(num.c_str(), nullptr);
            else {
                errno = 0;
                t.i = std::strtoll(num.c_str(), nullptr, 10);
                if (errno) fail("integer literal out of range");
            }
            out.push_back(t);
            i = j;
        } else if (c == '\'' || c == '"') {
            std::string v;
            size_t j = i + 1;
            for (;; j++) {
                if (j >= s.size()) fail("unterminated string literal");
                if (s[j] == c) break;
                if (s[j] == '\\' && j + 1 < s.size()) {
                    const char e = s[++j];
                    switch (e) {
                    case 'n': v += '\n'; break;
                    case 't': v += '\t'; break;
                    case 'r': v += '\r'; break;
                    case '0': v += '\0'; break;
                    case '\\': v += '\\'; break;
                    case '\'': v += '\''; break;
                    case '"': v += '"'; break;
                    case '\n': break;
                    default: v += '\\', v += e;
                    }
                } else v += s[j];
            }
            out.push_back({tk::string, v});
            i = j + 1;
        } else {
            static const char *ops[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(",
                                        ")",  "[",  "]",  "{",  "}",  ".",  ",", ":", "|", "=", nullptr};
            bool ok = false;
            for (int k = 0; ops[k]; k++) {
                const size_t n = std::strlen(ops[k]);
                if (s.compare(i, n, ops[k]) == 0) {
                    out.push_back({tk::op, ops[k]});
                    i += n;
                    ok = true;
                    break;
                }
            }
            if (!ok) fail(std::string("unexpected character '") + c + "'");
        }
    }
    out.push_back({tk::end, ""});
    return out;
}

using up = std::unique_ptr<node>;

class parser {
  public:
    explicit parser(std::vector<piece> p) : pieces_(std::move(p)) {}

    up parse_all() {
        std::string stop;
        up b = parse_body({}, &stop);
        return b;
    }

  private:
    std::vector<piece> pieces_;
    size_t pi_ = 0;
    // current tag's tokens
    std::vector<token> t_;
    size_t ti_ = 0;
    int line_ = 0;
    int depth_ = 0;

    [[noreturn]] void fail(const std::string &m) const { throw error("line " + std::to_string(line_) + ": " + m); }

    const token &peek(size_t k = 0) const { return t_[std::min(ti_ + k, t_.size() - 1)]; }
    bool is_op(const char *o, size_t k = 0) const { return peek(k).kind == tk::op && peek(k).s == o; }
    bool is_name(const char *n, size_t k = 0) const { return peek(k).kind == tk::name && peek(k).s == n; }
    bool accept_op(const char *o) {
        if (!is_op(o)) return false;
        ti_++;
        return true;
    }
    bool accept_name(const char *n) {
        if (!is_name(n)) return false;
        ti_++;
        return true;
    }
    void expect_op(const char *o) {
        if (!accept_op(o)) fail(std::string("expected '") + o + "', found '" + peek().s + "'");
    }
    std::string expect_name() {
        if (peek().kind != tk::name) fail("expected a name, found '" + peek().s + "'");
        return t_[ti_++].s;
    }
    void expect_end() {
        if (peek().kind != tk::end) fail("unexpected '" + peek().s + "' at the end of a tag");
    }
    up mk(nk k) { return std::make_unique<node>(k, line_); }

    // Statements until a {% tag %} whose first word is in `stops` (returned in *stop; the tag's
    // tokens stay loaded for the caller). End of input is allowed only when stops is empty.
    up parse_body(std::initializer_list<const char *> stops, std::string *stop) {
        if (++depth_ > 200) fail("blocks nested too deeply");
        up b = mk(nk::body);
        while (pi_ < pieces_.size()) {
            piece &p = pieces_[pi_++];
            line_ = p.line;
            if (p.kind == pk::text) {
                up t = mk(nk::text);
                t->str = std::move(p.s);
                b->kids.push_back(std::move(t));
                continue;
            }
            t_ = tokenize(p.s, p.line);
            ti_ = 0;
            if (p.kind == pk::expr) {
                up o = mk(nk::output);
                o->kids.push_back(parse_expr());
                expect_end();
                b->kids.push_back(std::move(o));
                continue;
            }
            const std::string w = expect_name();
            for (const char *s : stops)
                if (w == s) {
                    *stop = w;
                    depth_--;
                    return b;
                }
            b->kids.push_back(parse_stmt(w));
        }
        if (stops.size()) fail(std::string("missing {% ") + *(stops.end() - 1) + " %}");
        depth_--;
        return b;
    }

    up parse_stmt(const std::string &w) {
        std::string stop;
        if (w == "if") {
            up n = mk(nk::if_);
            n->kids.push_back(parse_expr());
            expect_end();
            for (;;) {
                n->kids.push_back(parse_body({"elif", "else", "endif"}, &stop));
                if (stop == "elif") {
                    n->kids.push_back(parse_expr());
                    expect_end();
                } else if (stop == "else") {
                    expect_end();
                    n->kids.push_back(parse_body({"endif"}, &stop));
                    expect_end();
                    break;
                } else {
                    expect_end();
                    break;
                }
            }
            return n;
        }
        if (w == "for") {
            up n = mk(nk::for_);
            n->names.push_back(expect_name());
            while (accept_op(",")) n->names.push_back(expect_name());
            if (!accept_name("in")) fail("expected 'in' in a for loop");
            n->kids.push_back(parse_cond_free());
            up filt;
            if (accept_name("if")) filt = parse_or();
            accept_name("recursive");
            expect_end();
            n->kids.push_back(parse_body({"else", "endfor"}, &stop));
            n->kids.push_back(std::move(filt));
            up els;
            if (stop == "else") {
                expect_end();
                els = parse_body({"endfor"}, &stop);
            }
            expect_end();
            n->kids.push_back(std::move(els));
            return n;
        }
        if (w == "set") {
            up n = mk(nk::set);
            n->names.push_back(expect_name());
            if (accept_op(".")) n->str = expect_name();
            else
                while (accept_op(",")) n->names.push_back(expect_name());
            if (accept_op("=")) {
                up e = parse_expr();
                if (is_op(",")) { // set a, b = x, y
                    up l = mk(nk::list);
                    l->kids.push_back(std::move(e));
                    while (accept_op(",")) l->kids.push_back(parse_expr());
                    e = std::move(l);
                }
                n->kids.push_back(std::move(e));
                expect_end();
                return n;
            }
            expect_end();
            n->block = true;
            n->kids.push_back(parse_body({"endset"}, &stop));
            expect_end();
            return n;
        }
        if (w == "macro") {
            up n = mk(nk::macro);
            n->str = expect_name();
            expect_op("(");
            std::vector<up> defaults;
            while (!accept_op(")")) {
                n->names.push_back(expect_name());
                defaults.push_back(accept_op("=") ? parse_expr() : nullptr);
                if (!is_op(")")) expect_op(",");
            }
            expect_end();
            n->kids.push_back(parse_body({"endmacro"}, &stop));
            expect_end();
            for (auto &d : defaults) n->kids.push_back(std::move(d));
            return n;
        }
        if (w == "break" || w == "continue") {
            expect_end();
            return mk(w == "break" ? nk::break_ : nk::continue_);
        }
        if (w == "generation" || w == "endgeneration") { // Hugging Face's training marker: no output
            expect_end();
            return mk(nk::body);
        }
        fail("unknown tag '" + w + "'");
    }

    // ---- expressions ----
    up parse_expr() {
        up e = parse_or();
        if (is_name("if")) {
            ti_++;
            up c = mk(nk::cond);
            up test = parse_or();
            up els = accept_name("else") ? parse_expr() : nullptr;
            c->kids.push_back(std::move(test));
            c->kids.push_back(std::move(e));
            c->kids.push_back(std::move(els));
            return c;
        }
        return e;
    }
    up parse_cond_free() { return parse_or(); } // `for x in y if z`: the `if` belongs to the loop

    up binary(const std::string &op, up a, up b) {
        up n = mk(nk::binary);
        n->str = op;
        n->kids.push_back(std::move(a));
        n->kids.push_back(std::move(b));
        return n;
    }
    up parse_or() {
        up a = parse_and();
        while (accept_name("or")) a = binary("or", std::move(a), parse_and());
        return a;
    }
    up parse_and() {
        up a = parse_not();
        while (accept_name("and")) a = binary("and", std::move(a), parse_not());
        return a;
    }
    up parse_not() {
        if (is_name("not")) {
            ti_++;
            up n = mk(nk::unary);
            n->str = "not";
            n->kids.push_back(parse_not());
            return n;
        }
        return parse_compare();
    }
    up parse_compare() {
        up a = parse_math1();
        for (;;) {
            static const char *cmp[] = {"==", "!=", "<", ">", "<=", ">=", nullptr};
            bool done = true;
            for (int k = 0; cmp[k]; k++)
                if (is_op(cmp[k])) {
                    ti_++;
                    a = binary(cmp[k], std::move(a), parse_math1());
                    done = false;
                    break;
                }
            if (!done) continue;
            if (is_name("in")) {
                ti_++;
                a = binary("in", std::move(a), parse_math1());
            } else if (is_name("not") && is_name("in", 1)) {
                ti_ += 2;
                a = binary("not in", std::move(a), parse_math1());
            } else break;
        }
        return a;
    }
    up parse_math1() {
        up a = parse_concat();
        for (;;) {
            if (is_op("+") || is_op("-")) {
                std::string o = t_[ti_++].s;
                a = binary(o, std::move(a), parse_concat());
            } else break;
        }
        return a;
    }
    up parse_concat() {
        up a = parse_math2();
        while (accept_op("~")) a = binary("~", std::move(a), parse_math2());
        return a;
    }
    up parse_math2() {
        up a = parse_pow();
        for (;;) {
            if (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
                std::string o = t_[ti_++].s;
                a = binary(o, std::move(a), parse_pow());
            } else break;
        }
        return a;
    }
    up parse_pow() {
        up a = parse_unary(true);
        while (accept_op("**")) a = binary("**", std::move(a), parse_unary(true));
        return a;
    }
    up parse_unary(bool with_filter) {
        if (++depth_ > 200) fail("expression nested too deeply");
        up n;
        if (is_op("-") || is_op("+")) {
            n = mk(nk::unary);
            n->str = t_[ti_++].s;
            n->kids.push_back(parse_unary(false));
        } else {
            n = parse_postfix(parse_primary());
        }
        if (with_filter) n = parse_filters(std::move(n));
        depth_--;
        return n;
    }
    void parse_args(node *n) {
        // after '(' : positional and keyword arguments up to ')'
        while (!accept_op(")")) {
            if (peek().kind == tk::name && is_op("=", 1)) {
                std::string k = t_[ti_].s;
                ti_ += 2;
                n->kw.emplace_back(k, parse_expr());
            } else n->kids.push_back(parse_expr());
            if (!is_op(")")) expect_op(",");
        }
    }
    up parse_filters(up n) {
        for (;;) {
            if (accept_op("|")) {
                up f = mk(nk::filter);
                f->str = expect_name();
                while (accept_op(".")) f->str += "." + expect_name();
                f->kids.push_back(std::move(n));
                if (accept_op("(")) parse_args(f.get());
                n = std::move(f);
            } else if (accept_name("is")) {
                up t = mk(nk::test);
                t->neg = accept_name("not");
                t->str = expect_name();
                t->kids.push_back(std::move(n));
                if (accept_op("(")) parse_args(t.get());
                else if (peek().kind == tk::string || peek().kind == tk::integer || peek().kind == tk::number ||
                         (peek().kind == tk::name && !is_name("and") && !is_name("or") && !is_name("else") &&
                          !is_name("if") && !is_name("in") && !is_name("not")))
                    t->kids.push_back(parse_primary()); // `is divisibleby 3`, `is equalto 'x'`
                n = std::move(t);
            } else return n;
        }
    }
    up parse_postfix(up n) {
        for (;;) {
            if (accept_op(".")) {
                up g = mk(nk::getattr);
                if (peek().kind == tk::integer) g->str = std::to_string(t_[ti_++].i);
                else g->str = expect_name();
                g->kids.push_back(std::move(n));
                n = std::move(g);
            } else if (accept_op("[")) {
                up a, b, c;
                bool is_slice = false;
                if (!is_op(":")) a = parse_expr();
                if (accept_op(":")) {
                    is_slice = true;
                    if (!is_op(":") && !is_op("]")) b = parse_expr();
                    if (accept_op(":") && !is_op("]")) c = parse_expr();
                }
                expect_op("]");
                if (is_slice) {
                    up s = mk(nk::slice);
                    s->kids.push_back(std::move(n));
                    s->kids.push_back(std::move(a));
                    s->kids.push_back(std::move(b));
                    s->kids.push_back(std::move(c));
                    n = std::move(s);
                } else {
                    if (!a) fail("empty subscript");
                    up g = mk(nk::getitem);
                    g->kids.push_back(std::move(n));
                    g->kids.push_back(std::move(a));
                    n = std::move(g);
                }
            } else if (accept_op("(")) {
                up c = mk(nk::call);
                c->kids.push_back(std::move(n));
                parse_args(c.get());
                n = std::move(c);
            } else return n;
        }
    }
    up literal(value v) {
        up n = mk(nk::literal);
        n->val = std::move(v);
        return n;
    }
    up parse_primary() {
        const token t = peek();
        switch (t.kind) {
        case tk::end: fail("unexpected end of expression");
        case tk::integer: ti_++; return literal(value(t.i));
        case tk::number: ti_++; return literal(value(t.d));
        case tk::string: {
            ti_++;
            std::string s = t.s;
            while (peek().kind == tk::string) s += t_[ti_++].s; // adjacent literals concatenate
            return literal(value(s));
        }
        case tk::name: {
            ti_++;
            if (t.s == "true" || t.s == "True") return literal(value(true));
            if (t.s == "false" || t.s == "False") return literal(value(false));
            if (t.s == "none" || t.s == "None") return literal(value(nullptr));
            up n = mk(nk::name);
            n->str = t.s;
            return n;
        }
        case tk::op:
            if (accept_op("(")) {
                if (accept_op(")")) return mk(nk::list);
                up e = parse_expr();
                if (is_op(",")) {
                    up l = mk(nk::list);
                    l->kids.push_back(std::move(e));
                    while (accept_op(",") && !is_op(")")) l->kids.push_back(parse_expr());
                    e = std::move(l);
                }
                expect_op(")");
                return e;
            }
            if (accept_op("[")) {
                up l = mk(nk::list);
                while (!accept_op("]")) {
                    l->kids.push_back(parse_expr());
                    if (!is_op("]")) expect_op(",");
                }
                return l;
            }
            if (accept_op("{")) {
                up d = mk(nk::dict);
                while (!accept_op("}")) {
                    d->kids.push_back(parse_expr());
                    expect_op(":");
                    d->kids.push_back(parse_expr());
                    if (!is_op("}")) expect_op(",");
                }
                return d;
            }
            fail("unexpected '" + t.s + "'");
        }
        fail("bad expression");
    }
};

} // namespace

std::unique_ptr<node> parse_template(const std::string &src) { return parser(split_source(src)).parse_all(); }

} // namespace tern::jinja
