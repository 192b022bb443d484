// jinja.h — a small interpreter for the Jinja2 subset that chat templates use, rendering the way
// Hugging Face's apply_chat_template does (trim_blocks, lstrip_blocks, loopcontrols; no HTML
// escaping; raise_exception, strftime_now and a Python-style tojson).
//
// Supported: {{ }}, {% %}, {# #} with '-' and '+' whitespace control; if/elif/else, for (tuple
// unpacking, `if` filter, else, loop.index/index0/first/last/length/revindex/previtem/nextitem,
// break, continue), set (names, namespace attributes, block set), macros with defaults; literals
// (strings, numbers, lists, dicts, tuples), attribute and item access, slices with steps, calls,
// filters, tests, `in`/`not in`, arithmetic, `~`, comparisons, `and`/`or`/`not`, conditional
// expressions; Python string/dict methods that templates call (strip, split, startswith,
// replace, items, get, ...). Values have Python semantics: lists and dicts are shared by
// reference, printing follows Python's str() (None, True, ['a']).
//
// Templates come from model files, so nothing here trusts them: parse errors, unknown filters,
// runaway loops (a step limit), deep recursion and huge outputs all end in an error status.
#pragma once

#include "ggml/status.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tern::jinja {

class value;
using array = std::vector<value>;
// Insertion-ordered string-keyed map (Python dicts keep order).
struct object {
    std::vector<std::pair<std::string, value>> items;
    const value *find(const std::string &k) const;
    value *find(const std::string &k);
    void set(const std::string &k, value v);
};
using kwargs = std::vector<std::pair<std::string, value>>;
using function = std::function<value(std::vector<value> &args, kwargs &kw)>;

class value {
  public:
    enum class kind : uint8_t { undefined, none, boolean, integer, number, string, list, dict, func };
    value() = default;
    value(std::nullptr_t) : k_(kind::none) {}
    value(bool b) : k_(kind::boolean), i_(b) {}
    value(int v) : k_(kind::integer), i_(v) {}
    value(int64_t v) : k_(kind::integer), i_(v) {}
    value(double v) : k_(kind::number), d_(v) {}
    value(const char *s) : k_(kind::string), s_(std::make_shared<std::string>(s)) {}
    value(std::string s) : k_(kind::string), s_(std::make_shared<std::string>(std::move(s))) {}
    value(array a) : k_(kind::list), a_(std::make_shared<array>(std::move(a))) {}
    value(object o) : k_(kind::dict), o_(std::make_shared<object>(std::move(o))) {}
    static value make_func(function f) {
        value v;
        v.k_ = kind::func;
        v.f_ = std::make_shared<function>(std::move(f));
        return v;
    }

    kind type() const { return k_; }
    bool is_undefined() const { return k_ == kind::undefined; }
    bool is_none() const { return k_ == kind::none; }
    bool is_string() const { return k_ == kind::string; }
    bool is_list() const { return k_ == kind::list; }
    bool is_dict() const { return k_ == kind::dict; }
    bool is_number() const { return k_ == kind::integer || k_ == kind::number || k_ == kind::boolean; }
    bool is_func() const { return k_ == kind::func; }

    const std::string &str() const { return *s_; }
    int64_t as_int() const { return k_ == kind::number ? (int64_t)d_ : i_; }
    double as_double() const { return k_ == kind::number ? d_ : (double)i_; }
    array &list() const { return *a_; }
    object &dict() const { return *o_; }
    function &func() const { return *f_; }

    bool truthy() const;
    // Python str(): None, True, 1.5, ['a', 1], {'k': 'v'}; undefined is "".
    std::string to_str() const;
    // Python repr() (strings quoted).
    std::string repr() const;
    // json.dumps(ensure_ascii=False, separators as Python's default or from indent).
    std::string to_json(int indent = -1, int depth = 0) const;
    bool equals(const value &o) const;

  private:
    kind k_ = kind::undefined;
    int64_t i_ = 0;
    double d_ = 0;
    std::shared_ptr<std::string> s_;
    std::shared_ptr<array> a_;
    std::shared_ptr<object> o_;
    std::shared_ptr<function> f_;
};

// A value built from JSON text (for tests and the server's extra message fields).
status value_from_json(const std::string &json, value *out);

struct node;
class template_ {
  public:
    template_();
    ~template_();
    template_(template_ &&) noexcept;
    template_ &operator=(template_ &&) noexcept;
    // Parses `source`; errors name the line.
    status parse(const std::string &source);
    // Renders with the variables of `globals` (a dict). Limits guard against hostile templates.
    status render(const value &globals, std::string *out, size_t max_output = 16u << 20) const;

  private:
    std::unique_ptr<node> root_;
};

} // namespace tern::jinja
