// jinja-ast.h — the parsed template tree shared by the parser (jinja-parse.cpp) and the evaluator
// (jinja-eval.cpp). Internal to the jinja module.
#pragma once

#include "jinja.h"

#include <stdexcept>

namespace tern::jinja {

// Raised inside the module, caught at template_::parse/render and turned into a status.
struct error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

enum class nk : uint8_t {
    // expressions
    literal,   // val
    name,      // str
    getattr,   // kids[0] . str
    getitem,   // kids[0] [ kids[1] ]
    slice,     // kids[0] [ kids[1] : kids[2] : kids[3] ] (null kids: omitted)
    call,      // kids[0] ( kids[1..] ), keyword args in kw
    filter,    // kids[0] | str ( kids[1..] ), kw
    test,      // kids[0] is [not] str ( kids[1..] ); neg
    unary,     // op kids[0]: "-", "+", "not"
    binary,    // kids[0] op kids[1]
    cond,      // kids[1] if kids[0] else kids[2] (kids[2] may be null)
    list,      // [ kids ] or ( kids, )
    dict,      // { kids[0]: kids[1], ... }
    // statements
    body,      // kids in order
    text,      // str
    output,    // {{ kids[0] }}
    if_,       // kids: cond0, body0, cond1, body1, ..., [else body] (odd count: last is else)
    for_,      // targets in names; kids[0] iter, kids[1] body, kids[2] filter or null, kids[3] else or null
    set,       // names[0] (and str: attribute) = kids[0]; or block set: kids[0] is a body, block = true
    macro,     // str name, names params, kids[0] body, kids[1..] defaults (null: none)
    break_,
    continue_,
};

struct node {
    nk kind;
    int line = 0;
    std::string str;             // name, attribute, operator, filter/test name, text
    std::vector<std::string> names;
    std::vector<std::unique_ptr<node>> kids;
    std::vector<std::pair<std::string, std::unique_ptr<node>>> kw;
    value val;
    bool neg = false, block = false;
    explicit node(nk k, int l = 0) : kind(k), line(l) {}
};

std::unique_ptr<node> parse_template(const std::string &src);

} // namespace tern::jinja
