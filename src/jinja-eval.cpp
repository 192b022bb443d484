// jinja-eval.cpp — renders a parsed template: scopes, statements, operators, and the built-in
// filters, tests, functions and Python methods chat templates call.
#include "jinja-ast.h"

#include <algorithm>
#include <cmath>
#include <ctime>

namespace tern::jinja {

namespace {

// Thrown through the evaluator by {% break %} / {% continue %}.
struct loop_break {};
struct loop_continue {};

struct scope {
    object vars;
    scope *parent = nullptr;
    const value *lookup(const std::string &k) const {
        for (const scope *s = this; s; s = s->parent)
            if (const value *v = s->vars.find(k)) return v;
        return nullptr;
    }
};

std::string strip_chars(const std::string &s, const value *chars, bool left, bool right) {
    const std::string set = chars && chars->is_string() ? chars->str() : std::string(" \t\n\r\f\v");
    size_t a = 0, b = s.size();
    if (left)
        while (a < b && set.find(s[a]) != std::string::npos) a++;
    if (right)
        while (b > a && set.find(s[b - 1]) != std::string::npos) b--;
    return s.substr(a, b - a);
}

// A string's characters as Python sees them (code points), each as its UTF-8 bytes.
std::vector<std::string> utf8_chars(const std::string &s) {
    std::vector<std::string> r;
    for (size_t i = 0; i < s.size();) {
        const unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
        if (i + n > s.size()) n = 1;
        r.push_back(s.substr(i, n));
        i += n;
    }
    return r;
}

std::string title_case(const std::string &s, bool only_first) {
    std::string r = s;
    bool start = true;
    for (size_t i = 0; i < r.size(); i++) {
        const unsigned char c = (unsigned char)r[i];
        if (std::isalpha(c)) {
            r[i] = (char)(start ? std::toupper(c) : std::tolower(c));
            start = false;
        } else if (!only_first) start = true;
        else if (i == 0) start = false;
    }
    return r;
}

class renderer {
  public:
    renderer(std::string *out, size_t max_out) : out_(out), max_out_(max_out) {}

    void exec(const node &n, scope &sc) {
        switch (n.kind) {
        case nk::body:
            for (auto &k : n.kids) exec(*k, sc);
            return;
        case nk::text: emit(n.str); return;
        case nk::output: emit(eval(*n.kids[0], sc).to_str()); return;
        case nk::if_: {
            const size_t nk2 = n.kids.size();
            for (size_t i = 0; i + 1 < nk2; i += 2)
                if (eval(*n.kids[i], sc).truthy()) return exec(*n.kids[i + 1], sc);
            if (nk2 % 2 == 1) exec(*n.kids.back(), sc);
            return;
        }
        case nk::for_: return exec_for(n, sc);
        case nk::set: {
            value v;
            if (n.block) {
                std::string saved;
                std::swap(saved, *out_);
                exec(*n.kids[0], sc);
                std::swap(saved, *out_);
                v = value(saved);
            } else v = eval(*n.kids[0], sc);
            if (!n.str.empty()) {
                const value *ns = sc.lookup(n.names[0]);
                if (!ns || !ns->is_dict()) fail(n, "'" + n.names[0] + "' is not a namespace");
                ns->dict().set(n.str, v);
            } else if (n.names.size() == 1) {
                sc.vars.set(n.names[0], v);
            } else {
                if (!v.is_list() || v.list().size() != n.names.size()) fail(n, "cannot unpack for set");
                for (size_t i = 0; i < n.names.size(); i++) sc.vars.set(n.names[i], v.list()[i]);
            }
            return;
        }
        case nk::macro: {
            const node *m = &n;
            scope *def = &sc;
            sc.vars.set(n.str, value::make_func([this, m, def](std::vector<value> &args, kwargs &kw) {
                scope local;
                local.parent = def;
                for (size_t i = 0; i < m->names.size(); i++) {
                    value v;
                    if (i < args.size()) v = args[i];
                    else if (m->kids[i + 1]) v = eval(*m->kids[i + 1], *def);
                    local.vars.set(m->names[i], v);
                }
                for (auto &p : kw) local.vars.set(p.first, p.second);
                std::string saved;
                std::swap(saved, *out_);
                if (++depth_ > 100) fail(*m, "macro recursion too deep");
                exec(*m->kids[0], local);
                depth_--;
                std::swap(saved, *out_);
                return value(saved);
            }));
            return;
        }
        case nk::break_: throw loop_break{};
        case nk::continue_: throw loop_continue{};
        default: fail(n, "not a statement");
        }
    }

  private:
    std::string *out_;
    size_t max_out_;
    int depth_ = 0;
    uint64_t steps_ = 0;

    [[noreturn]] static void fail(const node &n, const std::string &m) {
        throw error("line " + std::to_string(n.line) + ": " + m);
    }
    void emit(const std::string &s) {
        if (out_->size() + s.size() > max_out_) throw error("template output exceeds the limit");
        *out_ += s;
    }
    void step(const node &n) {
        if (++steps_ > 10'000'000) fail(n, "template runs too long");
    }

    static std::vector<value> iterate(const node &n, const value &v) {
        if (v.is_list()) return v.list();
        if (v.is_dict()) {
            std::vector<value> r;
            for (auto &kv : v.dict().items) r.push_back(value(kv.first));
            return r;
        }
        if (v.is_string()) {
            std::vector<value> r;
            for (auto &c : utf8_chars(v.str())) r.push_back(value(c));
            return r;
        }
        if (v.is_undefined() || v.is_none()) return {};
        fail(n, "value is not iterable");
    }

    void exec_for(const node &n, scope &sc) {
        const value seq = eval(*n.kids[0], sc);
        std::vector<value> items = iterate(*n.kids[0], seq);
        scope local;
        local.parent = &sc;
        auto bind = [&](const value &item) {
            if (n.names.size() == 1) local.vars.set(n.names[0], item);
            else {
                if (!item.is_list() || item.list().size() != n.names.size()) fail(n, "cannot unpack loop item");
                for (size_t i = 0; i < n.names.size(); i++) local.vars.set(n.names[i], item.list()[i]);
            }
        };
        if (n.kids[2]) { // loop filter: `for x in xs if cond`
            std::vector<value> kept;
            for (auto &it : items) {
                bind(it);
                if (eval(*n.kids[2], local).truthy()) kept.push_back(it);
            }
            items.swap(kept);
        }
        const int64_t len = (int64_t)items.size();
        if (len == 0) {
            if (n.kids[3]) exec(*n.kids[3], sc);
            return;
        }
        for (int64_t i = 0; i < len; i++) {
            step(n);
            local.vars.items.clear();
            bind(items[i]);
            object loop;
            loop.set("index", value(i + 1));
            loop.set("index0", value(i));
            loop.set("revindex", value(len - i));
            loop.set("revindex0", value(len - i - 1));
            loop.set("first", value(i == 0));
            loop.set("last", value(i == len - 1));
            loop.set("length", value(len));
            loop.set("previtem", i > 0 ? items[i - 1] : value());
            loop.set("nextitem", i + 1 < len ? items[i + 1] : value());
            local.vars.set("loop", value(std::move(loop)));
            try {
                exec(*n.kids[1], local);
            } catch (loop_break &) {
                break;
            } catch (loop_continue &) {
            }
        }
    }

    value eval(const node &n, scope &sc) {
        step(n);
        switch (n.kind) {
        case nk::literal: return n.val;
        case nk::name: {
            const value *v = sc.lookup(n.str);
            if (v) return *v;
            return global(n.str);
        }
        case nk::getattr: return get_attr(n, eval(*n.kids[0], sc), n.str);
        case nk::getitem: {
            const value o = eval(*n.kids[0], sc), k = eval(*n.kids[1], sc);
            return get_item(n, o, k);
        }
        case nk::slice: return slice(n, sc);
        case nk::call: {
            value f = eval(*n.kids[0], sc);
            std::vector<value> args;
            kwargs kw;
            for (size_t i = 1; i < n.kids.size(); i++) args.push_back(eval(*n.kids[i], sc));
            for (auto &p : n.kw) kw.emplace_back(p.first, eval(*p.second, sc));
            if (!f.is_func()) fail(n, "called value is not callable");
            return f.func()(args, kw);
        }
        case nk::filter: return apply_filter(n, sc);
        case nk::test: {
            const bool r = apply_test(n, sc);
            return value(n.neg ? !r : r);
        }
        case nk::unary: {
            const value v = eval(*n.kids[0], sc);
            if (n.str == "not") return value(!v.truthy());
            if (!v.is_number()) fail(n, "unary " + n.str + " on a non-number");
            if (n.str == "+") return v;
            return v.type() == value::kind::number ? value(-v.as_double()) : value(-v.as_int());
        }
        case nk::binary: return binary(n, sc);
        case nk::cond:
            if (eval(*n.kids[0], sc).truthy()) return eval(*n.kids[1], sc);
            return n.kids[2] ? eval(*n.kids[2], sc) : value();
        case nk::list: {
            array a;
            for (auto &k : n.kids) a.push_back(eval(*k, sc));
            return value(std::move(a));
        }
        case nk::dict: {
            object o;
            for (size_t i = 0; i + 1 < n.kids.size(); i += 2) {
                const value k = eval(*n.kids[i], sc);
                o.set(k.to_str(), eval(*n.kids[i + 1], sc));
            }
            return value(std::move(o));
        }
        default: fail(n, "not an expression");
        }
    }

    value global(const std::string &name) {
        if (name == "range")
            return value::make_func([](std::vector<value> &a, kwargs &) {
                int64_t lo = 0, hi = 0, st = 1;
                if (a.size() == 1) hi = a[0].as_int();
                else if (a.size() >= 2) lo = a[0].as_int(), hi = a[1].as_int();
                if (a.size() >= 3) st = a[2].as_int();
                if (st == 0) throw error("range() step must not be zero");
                array r;
                for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st) {
                    if (r.size() > 1'000'000) throw error("range() too long");
                    r.push_back(value(i));
                }
                return value(std::move(r));
            });
        if (name == "namespace" || name == "dict")
            return value::make_func([](std::vector<value> &a, kwargs &kw) {
                object o;
                if (!a.empty() && a[0].is_dict()) o = a[0].dict();
                for (auto &p : kw) o.set(p.first, p.second);
                return value(std::move(o));
            });
        if (name == "raise_exception")
            return value::make_func([](std::vector<value> &a, kwargs &) -> value {
                throw error("template raised an exception: " + (a.empty() ? std::string() : a[0].to_str()));
            });
        if (name == "strftime_now")
            return value::make_func([](std::vector<value> &a, kwargs &) {
                const std::time_t t = std::time(nullptr);
                std::tm tm{};
                localtime_r(&t, &tm);
                char buf[256];
                const size_t n = std::strftime(buf, sizeof buf, a.empty() ? "%Y-%m-%d" : a[0].to_str().c_str(), &tm);
                return value(std::string(buf, n));
            });
        return value(); // undefined
    }

    value method(const node &n, const value &o, const std::string &name) {
        if (o.is_string()) {
            const std::string s = o.str();
            auto m = [&](auto fn) { return value::make_func(fn); };
            if (name == "strip" || name == "lstrip" || name == "rstrip") {
                const bool l = name != "rstrip", r = name != "lstrip";
                return m([s, l, r](std::vector<value> &a, kwargs &) {
                    return value(strip_chars(s, a.empty() ? nullptr : &a[0], l, r));
                });
            }
            if (name == "startswith" || name == "endswith") {
                const bool st = name == "startswith";
                return m([s, st](std::vector<value> &a, kwargs &) {
                    std::vector<value> pre = a.empty() ? std::vector<value>{} : a[0].is_list() ? a[0].list() : std::vector<value>{a[0]};
                    for (auto &p : pre) {
                        const std::string x = p.to_str();
                        if (x.size() <= s.size() && (st ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0))
                            return value(true);
                    }
                    return value(false);
                });
            }
            if (name == "upper" || name == "lower")
                return m([s, name](std::vector<value> &, kwargs &) {
                    std::string r = s;
                    for (char &c : r) c = (char)(name == "upper" ? std::toupper((unsigned char)c) : std::tolower((unsigned char)c));
                    return value(r);
                });
            if (name == "title" || name == "capitalize")
                return m([s, name](std::vector<value> &, kwargs &) { return value(title_case(s, name == "capitalize")); });
            if (name == "split" || name == "rsplit")
                return m([s](std::vector<value> &a, kwargs &) {
                    array r;
                    if (a.empty() || a[0].is_none()) {
                        size_t i = 0;
                        while (i < s.size()) {
                            while (i < s.size() && std::isspace((unsigned char)s[i])) i++;
                            size_t j = i;
                            while (j < s.size() && !std::isspace((unsigned char)s[j])) j++;
                            if (j > i) r.push_back(value(s.substr(i, j - i)));
                            i = j;
                        }
                        return value(std::move(r));
                    }
                    const std::string sep = a[0].to_str();
                    if (sep.empty()) throw error("split(): empty separator");
                    int64_t maxs = a.size() > 1 ? a[1].as_int() : -1;
                    size_t p = 0;
                    for (;;) {
                        size_t q = maxs == 0 ? std::string::npos : s.find(sep, p);
                        if (q == std::string::npos) {
                            r.push_back(value(s.substr(p)));
                            break;
                        }
                        r.push_back(value(s.substr(p, q - p)));
                        p = q + sep.size();
                        if (maxs > 0) maxs--;
                    }
                    return value(std::move(r));
                });
            if (name == "replace")
                return m([s](std::vector<value> &a, kwargs &) {
                    if (a.size() < 2) throw error("replace() needs two arguments");
                    return value(replace_all(s, a[0].to_str(), a[1].to_str()));
                });
            if (name == "find")
                return m([s](std::vector<value> &a, kwargs &) {
                    const size_t p = a.empty() ? std::string::npos : s.find(a[0].to_str());
                    return value(p == std::string::npos ? (int64_t)-1 : (int64_t)p);
                });
            if (name == "count")
                return m([s](std::vector<value> &a, kwargs &) {
                    const std::string x = a.empty() ? std::string() : a[0].to_str();
                    int64_t c = 0;
                    if (!x.empty())
                        for (size_t p = s.find(x); p != std::string::npos; p = s.find(x, p + x.size())) c++;
                    return value(c);
                });
            if (name == "join")
                return m([s](std::vector<value> &a, kwargs &) {
                    std::string r;
                    if (!a.empty() && a[0].is_list())
                        for (size_t i = 0; i < a[0].list().size(); i++) r += (i ? s : "") + a[0].list()[i].to_str();
                    return value(r);
                });
            if (name == "isdigit" || name == "isspace" || name == "isalpha")
                return m([s, name](std::vector<value> &, kwargs &) {
                    if (s.empty()) return value(false);
                    for (unsigned char c : s)
                        if (!(name == "isdigit" ? std::isdigit(c) : name == "isspace" ? std::isspace(c) : std::isalpha(c)))
                            return value(false);
                    return value(true);
                });
        }
        if (o.is_dict()) {
            const value d = o;
            if (name == "items")
                return value::make_func([d](std::vector<value> &, kwargs &) {
                    array r;
                    for (auto &kv : d.dict().items) r.push_back(value(array{value(kv.first), kv.second}));
                    return value(std::move(r));
                });
            if (name == "keys" || name == "values")
                return value::make_func([d, name](std::vector<value> &, kwargs &) {
                    array r;
                    for (auto &kv : d.dict().items) r.push_back(name == "keys" ? value(kv.first) : kv.second);
                    return value(std::move(r));
                });
            if (name == "get")
                return value::make_func([d](std::vector<value> &a, kwargs &) {
                    const value *v = a.empty() ? nullptr : d.dict().find(a[0].to_str());
                    return v ? *v : a.size() > 1 ? a[1] : value(nullptr);
                });
        }
        if (o.is_list()) {
            const value l = o;
            if (name == "append")
                return value::make_func([l](std::vector<value> &a, kwargs &) {
                    if (l.list().size() > 1'000'000) throw error("list too long");
                    for (auto &x : a) l.list().push_back(x);
                    return value(nullptr);
                });
        }
        (void)n;
        return value();
    }

    static std::string replace_all(std::string s, const std::string &from, const std::string &to) {
        if (from.empty()) return s;
        std::string r;
        size_t p = 0;
        for (size_t q; (q = s.find(from, p)) != std::string::npos; p = q + from.size()) r += s.substr(p, q - p) + to;
        return r + s.substr(p);
    }

    value get_attr(const node &n, const value &o, const std::string &name) {
        if (o.is_dict()) {
            if (const value *v = o.dict().find(name)) return *v;
        }
        if (o.is_list() && !name.empty() && std::isdigit((unsigned char)name[0])) return get_item(n, o, value((int64_t)std::stoll(name)));
        return method(n, o, name);
    }

    value get_item(const node &n, const value &o, const value &k) {
        if (o.is_list() || o.is_string()) {
            if (!k.is_number()) return o.is_list() ? value() : method(n, o, k.to_str());
            const std::vector<std::string> chars = o.is_string() ? utf8_chars(o.str()) : std::vector<std::string>{};
            const int64_t len = o.is_list() ? (int64_t)o.list().size() : (int64_t)chars.size();
            int64_t i = k.as_int();
            if (i < 0) i += len;
            if (i < 0 || i >= len) return value();
            return o.is_list() ? o.list()[(size_t)i] : value(chars[(size_t)i]);
        }
        if (o.is_dict()) {
            if (const value *v = o.dict().find(k.to_str())) return *v;
            return method(n, o, k.to_str());
        }
        return value();
    }

    value slice(const node &n, scope &sc) {
        const value o = eval(*n.kids[0], sc);
        if (!o.is_list() && !o.is_string()) fail(n, "slice of a value that is not a list or string");
        const std::vector<std::string> chars = o.is_string() ? utf8_chars(o.str()) : std::vector<std::string>{};
        const int64_t len = o.is_list() ? (int64_t)o.list().size() : (int64_t)chars.size();
        const int64_t st = n.kids[3] ? eval(*n.kids[3], sc).as_int() : 1;
        if (st == 0) fail(n, "slice step must not be zero");
        auto bound = [&](const node *e, int64_t def) {
            if (!e) return def;
            int64_t v = eval(*e, sc).as_int();
            if (v < 0) v += len;
            return st > 0 ? std::clamp<int64_t>(v, 0, len) : std::clamp<int64_t>(v, -1, len - 1);
        };
        const int64_t a = bound(n.kids[1].get(), st > 0 ? 0 : len - 1), b = bound(n.kids[2].get(), st > 0 ? len : -1);
        array ra;
        std::string rs;
        for (int64_t i = a; st > 0 ? i < b : i > b; i += st) {
            if (o.is_list()) ra.push_back(o.list()[(size_t)i]);
            else rs += chars[(size_t)i];
        }
        return o.is_list() ? value(std::move(ra)) : value(rs);
    }

    static int cmp(const node &n, const value &a, const value &b) {
        if (a.is_number() && b.is_number()) return a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double() ? 1 : 0;
        if (a.is_string() && b.is_string()) return a.str().compare(b.str()) < 0 ? -1 : a.str() == b.str() ? 0 : 1;
        fail(n, "cannot compare these values");
    }

    static bool contains(const node &n, const value &hay, const value &x) {
        if (hay.is_string()) return hay.str().find(x.to_str()) != std::string::npos;
        if (hay.is_list()) {
            for (auto &e : hay.list())
                if (e.equals(x)) return true;
            return false;
        }
        if (hay.is_dict()) return hay.dict().find(x.to_str()) != nullptr;
        if (hay.is_undefined() || hay.is_none()) return false;
        fail(n, "'in' needs a string, list or dict");
    }

    value binary(const node &n, scope &sc) {
        const std::string &o = n.str;
        if (o == "and") {
            value a = eval(*n.kids[0], sc);
            return a.truthy() ? eval(*n.kids[1], sc) : a;
        }
        if (o == "or") {
            value a = eval(*n.kids[0], sc);
            return a.truthy() ? a : eval(*n.kids[1], sc);
        }
        const value a = eval(*n.kids[0], sc), b = eval(*n.kids[1], sc);
        if (o == "~") {
            std::string r = a.to_str() + b.to_str();
            if (r.size() > max_out_) throw error("string too long");
            return value(std::move(r));
        }
        if (o == "==") return value(a.equals(b));
        if (o == "!=") return value(!a.equals(b));
        if (o == "<") return value(cmp(n, a, b) < 0);
        if (o == ">") return value(cmp(n, a, b) > 0);
        if (o == "<=") return value(cmp(n, a, b) <= 0);
        if (o == ">=") return value(cmp(n, a, b) >= 0);
        if (o == "in") return value(contains(n, b, a));
        if (o == "not in") return value(!contains(n, b, a));
        if (o == "+") {
            if (a.is_string() && b.is_string()) {
                if (a.str().size() + b.str().size() > max_out_) throw error("string too long");
                return value(a.str() + b.str());
            }
            if (a.is_list() && b.is_list()) {
                array r = a.list();
                r.insert(r.end(), b.list().begin(), b.list().end());
                return value(std::move(r));
            }
        }
        if (o == "*" && a.is_string() && b.is_number()) {
            std::string r;
            const int64_t k = b.as_int();
            if (k > 0 && a.str().size() * (size_t)k > max_out_) throw error("string too long");
            for (int64_t i = 0; i < k; i++) r += a.str();
            return value(r);
        }
        if (!a.is_number() || !b.is_number()) fail(n, "operator " + o + " needs numbers (or strings/lists for +)");
        const bool flt = a.type() == value::kind::number || b.type() == value::kind::number;
        const double x = a.as_double(), y = b.as_double();
        const int64_t i = a.as_int(), j = b.as_int();
        if (o == "+") return flt ? value(x + y) : value(i + j);
        if (o == "-") return flt ? value(x - y) : value(i - j);
        if (o == "*") return flt ? value(x * y) : value(i * j);
        if (o == "/") {
            if (y == 0) fail(n, "division by zero");
            return value(x / y);
        }
        if (o == "//" || o == "%") {
            if (y == 0) fail(n, "division by zero");
            if (flt) return o == "//" ? value(std::floor(x / y)) : value(x - std::floor(x / y) * y);
            int64_t q = i / j;
            if ((i % j != 0) && ((i < 0) != (j < 0))) q--;
            return o == "//" ? value(q) : value(i - q * j);
        }
        if (o == "**") return flt || j < 0 ? value(std::pow(x, y)) : value((int64_t)std::llround(std::pow(x, y)));
        fail(n, "unknown operator " + o);
    }

    value apply_filter(const node &n, scope &sc) {
        const value v = eval(*n.kids[0], sc);
        std::vector<value> a;
        for (size_t i = 1; i < n.kids.size(); i++) a.push_back(eval(*n.kids[i], sc));
        kwargs kw;
        for (auto &p : n.kw) kw.emplace_back(p.first, eval(*p.second, sc));
        auto kwarg = [&kw](const char *k) -> const value * {
            for (auto &p : kw)
                if (p.first == k) return &p.second;
            return nullptr;
        };
        const std::string &f = n.str;
        if (f == "length" || f == "count") {
            if (v.is_string()) return value((int64_t)utf8_chars(v.str()).size());
            if (v.is_list()) return value((int64_t)v.list().size());
            if (v.is_dict()) return value((int64_t)v.dict().items.size());
            return value((int64_t)0);
        }
        if (f == "string") return value(v.to_str());
        if (f == "safe" || f == "e" || f == "escape" || f == "forceescape") return v; // no HTML escaping for prompts
        if (f == "tojson") {
            const value *ind = kwarg("indent");
            int indent = ind ? (int)ind->as_int() : a.empty() ? -1 : (int)a[0].as_int();
            return value(v.to_json(indent));
        }
        if (f == "trim") return value(strip_chars(v.to_str(), a.empty() ? nullptr : &a[0], true, true));
        if (f == "upper" || f == "lower" || f == "title" || f == "capitalize") return method(n, value(v.to_str()), f).func()(a, kw);
        if (f == "replace") {
            if (a.size() < 2) fail(n, "replace needs two arguments");
            return value(replace_all(v.to_str(), a[0].to_str(), a[1].to_str()));
        }
        if (f == "default" || f == "d") {
            const bool boolean = a.size() > 1 && a[1].truthy();
            if (v.is_undefined() || (boolean && !v.truthy())) return a.empty() ? value("") : a[0];
            return v;
        }
        if (f == "first" || f == "last") {
            const std::vector<value> items = iterate(n, v);
            if (items.empty()) return value();
            return f == "first" ? items.front() : items.back();
        }
        if (f == "join") {
            const std::string sep = a.empty() ? "" : a[0].to_str();
            const value *attr = kwarg("attribute");
            std::string r;
            const std::vector<value> items = iterate(n, v);
            for (size_t i = 0; i < items.size(); i++)
                r += (i ? sep : "") + (attr ? get_attr(n, items[i], attr->to_str()) : items[i]).to_str();
            return value(r);
        }
        if (f == "list") return value(iterate(n, v));
        if (f == "reverse") {
            if (v.is_string()) {
                std::vector<std::string> c = utf8_chars(v.str());
                std::string r;
                for (size_t i = c.size(); i-- > 0;) r += c[i];
                return value(r);
            }
            std::vector<value> items = iterate(n, v);
            std::reverse(items.begin(), items.end());
            return value(std::move(items));
        }
        if (f == "items") return method(n, v, "items").is_func() ? method(n, v, "items").func()(a, kw) : value(array{});
        if (f == "int") {
            if (v.is_number()) return value(v.as_int());
            try {
                return value((int64_t)std::stoll(v.to_str()));
            } catch (...) {
                return value((int64_t)0);
            }
        }
        if (f == "float") {
            if (v.is_number()) return value(v.as_double());
            try {
                return value(std::stod(v.to_str()));
            } catch (...) {
                return value(0.0);
            }
        }
        if (f == "abs") return v.type() == value::kind::number ? value(std::fabs(v.as_double())) : value((int64_t)std::llabs(v.as_int()));
        if (f == "round") return value(std::round(v.as_double()));
        if (f == "unique") {
            array r;
            for (auto &x : iterate(n, v))
                if (std::none_of(r.begin(), r.end(), [&](const value &y) { return y.equals(x); })) r.push_back(x);
            return value(std::move(r));
        }
        if (f == "sort") {
            std::vector<value> items = iterate(n, v);
            std::stable_sort(items.begin(), items.end(), [&](const value &x, const value &y) { return cmp(n, x, y) < 0; });
            return value(std::move(items));
        }
        if (f == "map") {
            const value *attr = kwarg("attribute");
            array r;
            for (auto &x : iterate(n, v)) {
                if (attr) r.push_back(get_attr(n, x, attr->to_str()));
                else if (!a.empty()) {
                    node fake(nk::filter, n.line);
                    fake.str = a[0].to_str();
                    fake.kids.push_back(std::make_unique<node>(nk::literal, n.line));
                    fake.kids[0]->val = x;
                    r.push_back(apply_filter(fake, sc));
                } else r.push_back(x);
            }
            return value(std::move(r));
        }
        if (f == "selectattr" || f == "rejectattr" || f == "select" || f == "reject") {
            const bool attr = f == "selectattr" || f == "rejectattr", keep = f == "selectattr" || f == "select";
            if (attr && a.empty()) fail(n, f + " needs an attribute name");
            array r;
            for (auto &x : iterate(n, v)) {
                const value subj = attr ? get_attr(n, x, a[0].to_str()) : x;
                bool ok;
                const size_t ti = attr ? 1 : 0;
                if (a.size() > ti) {
                    node fake(nk::test, n.line);
                    fake.str = a[ti].to_str();
                    fake.kids.push_back(std::make_unique<node>(nk::literal, n.line));
                    fake.kids[0]->val = subj;
                    for (size_t k = ti + 1; k < a.size(); k++) {
                        fake.kids.push_back(std::make_unique<node>(nk::literal, n.line));
                        fake.kids.back()->val = a[k];
                    }
                    ok = apply_test(fake, sc);
                } else ok = subj.truthy();
                if (ok == keep) r.push_back(x);
            }
            return value(std::move(r));
        }
        if (f == "indent") {
            const int64_t w = a.empty() ? 4 : a[0].as_int();
            const bool first = a.size() > 1 && a[1].truthy();
            const std::string pad((size_t)std::clamp<int64_t>(w, 0, 1000), ' ');
            const std::string s = v.to_str();
            std::string r = first ? pad : "";
            for (size_t i = 0; i < s.size(); i++) {
                r += s[i];
                if (s[i] == '\n' && i + 1 < s.size() && s[i + 1] != '\n') r += pad;
            }
            return value(r);
        }
        fail(n, "unknown filter '" + f + "'");
    }


    bool apply_test(const node &n, scope &sc) {
        const value v = eval(*n.kids[0], sc);
        std::vector<value> a;
        for (size_t i = 1; i < n.kids.size(); i++) a.push_back(eval(*n.kids[i], sc));
        const std::string &t = n.str;
        if (t == "defined") return !v.is_undefined();
        if (t == "undefined") return v.is_undefined();
        if (t == "none") return v.is_none();
        if (t == "string") return v.is_string();
        if (t == "number") return v.type() == value::kind::integer || v.type() == value::kind::number;
        if (t == "integer") return v.type() == value::kind::integer;
        if (t == "float") return v.type() == value::kind::number;
        if (t == "boolean") return v.type() == value::kind::boolean;
        if (t == "true") return v.type() == value::kind::boolean && v.truthy();
        if (t == "false") return v.type() == value::kind::boolean && !v.truthy();
        if (t == "mapping") return v.is_dict();
        if (t == "sequence" || t == "iterable") return v.is_list() || v.is_string() || v.is_dict();
        if (t == "callable") return v.is_func();
        if (t == "odd" || t == "even") return v.is_number() && (v.as_int() % 2 != 0) == (t == "odd");
        if (t == "divisibleby") return !a.empty() && a[0].as_int() != 0 && v.as_int() % a[0].as_int() == 0;
        if (t == "equalto" || t == "eq" || t == "==" || t == "sameas") return !a.empty() && v.equals(a[0]);
        if (t == "ne" || t == "!=") return a.empty() || !v.equals(a[0]);
        if (t == "in") return !a.empty() && contains(n, a[0], v);
        if (t == "lower" || t == "upper") {
            if (!v.is_string()) return false;
            for (unsigned char c : v.str())
                if (std::isalpha(c) && (t == "lower" ? std::isupper(c) : std::islower(c))) return false;
            return true;
        }
        fail(n, "unknown test '" + t + "'");
    }
};

} // namespace

template_::template_() = default;
template_::~template_() = default;
template_::template_(template_ &&) noexcept = default;
template_ &template_::operator=(template_ &&) noexcept = default;

status template_::parse(const std::string &source) {
    try {
        root_ = parse_template(source);
    } catch (const error &e) {
        root_.reset();
        return make_status(code::invalid_argument, "chat template: %s", e.what());
    }
    return status::ok();
}

status template_::render(const value &globals, std::string *out, size_t max_output) const {
    TERN_CHECK_OR_RETURN(root_, code::invalid_argument, "chat template: not parsed");
    out->clear();
    try {
        scope sc;
        if (globals.is_dict()) sc.vars = globals.dict();
        renderer r(out, max_output);
        r.exec(*root_, sc);
    } catch (const error &e) {
        out->clear();
        return make_status(code::invalid_argument, "chat template: %s", e.what());
    } catch (const loop_break &) {
        return make_status(code::invalid_argument, "chat template: break outside a loop");
    } catch (const loop_continue &) {
        return make_status(code::invalid_argument, "chat template: continue outside a loop");
    } catch (const std::exception &e) {
        out->clear();
        return make_status(code::internal, "chat template: %s", e.what());
    }
    return status::ok();
}

} // namespace tern::jinja
