// jinja-value.cpp — the interpreter's values: truthiness, equality, Python-style str()/repr(),
// and JSON in and out.
#include "jinja.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>

namespace tern::jinja {

const value *object::find(const std::string &k) const {
    for (auto &kv : items)
        if (kv.first == k) return &kv.second;
    return nullptr;
}
value *object::find(const std::string &k) {
    for (auto &kv : items)
        if (kv.first == k) return &kv.second;
    return nullptr;
}
void object::set(const std::string &k, value v) {
    if (value *p = find(k)) *p = std::move(v);
    else items.emplace_back(k, std::move(v));
}

bool value::truthy() const {
    switch (k_) {
    case kind::undefined:
    case kind::none: return false;
    case kind::boolean:
    case kind::integer: return i_ != 0;
    case kind::number: return d_ != 0;
    case kind::string: return !s_->empty();
    case kind::list: return !a_->empty();
    case kind::dict: return !o_->items.empty();
    case kind::func: return true;
    }
    return false;
}

namespace {

std::string float_str(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    // Python prints the shortest repr that round-trips and always shows a decimal point.
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (std::strtod(buf, nullptr) == d) break;
    }
    std::string s = buf;
    if (s.find_first_of(".einn") == std::string::npos) s += ".0";
    return s;
}

std::string py_quote(const std::string &s) {
    const char q = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
    std::string r(1, q);
    for (char c : s) {
        if (c == q || c == '\\') r += '\\', r += c;
        else if (c == '\n') r += "\\n";
        else if (c == '\t') r += "\\t";
        else if (c == '\r') r += "\\r";
        else r += c;
    }
    return r + q;
}

void json_escape(const std::string &s, std::string *out) {
    *out += '"';
    for (unsigned char c : s) {
        switch (c) {
        case '"': *out += "\\\""; break;
        case '\\': *out += "\\\\"; break;
        case '\n': *out += "\\n"; break;
        case '\r': *out += "\\r"; break;
        case '\t': *out += "\\t"; break;
        case '\b': *out += "\\b"; break;
        case '\f': *out += "\\f"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                snprintf(buf, sizeof buf, "\\u%04x", c);
                *out += buf;
            } else *out += (char)c;
        }
    }
    *out += '"';
}

} // namespace

std::string value::to_str() const {
    switch (k_) {
    case kind::undefined: return "";
    case kind::none: return "None";
    case kind::boolean: return i_ ? "True" : "False";
    case kind::integer: return std::to_string(i_);
    case kind::number: return float_str(d_);
    case kind::string: return *s_;
    default: return repr();
    }
}

std::string value::repr() const {
    switch (k_) {
    case kind::string: return py_quote(*s_);
    case kind::list: {
        std::string r = "[";
        for (size_t i = 0; i < a_->size(); i++) r += (i ? ", " : "") + (*a_)[i].repr();
        return r + "]";
    }
    case kind::dict: {
        std::string r = "{";
        for (size_t i = 0; i < o_->items.size(); i++)
            r += (i ? ", " : "") + py_quote(o_->items[i].first) + ": " + o_->items[i].second.repr();
        return r + "}";
    }
    case kind::func: return "<function>";
    default: return to_str();
    }
}

std::string value::to_json(int indent, int depth) const {
    std::string r;
    auto nl = [&](int d) {
        if (indent < 0) return;
        r += '\n';
        r.append((size_t)(indent * d), ' ');
    };
    switch (k_) {
    case kind::undefined:
    case kind::none: return "null";
    case kind::boolean: return i_ ? "true" : "false";
    case kind::integer: return std::to_string(i_);
    case kind::number: return std::isfinite(d_) ? float_str(d_) : (std::isnan(d_) ? "NaN" : d_ > 0 ? "Infinity" : "-Infinity");
    case kind::string: json_escape(*s_, &r); return r;
    case kind::func: return "null";
    case kind::list:
        if (a_->empty()) return "[]";
        r += '[';
        for (size_t i = 0; i < a_->size(); i++) {
            if (i) r += indent < 0 ? ", " : ",";
            nl(depth + 1);
            r += (*a_)[i].to_json(indent, depth + 1);
        }
        nl(depth);
        return r + ']';
    case kind::dict:
        if (o_->items.empty()) return "{}";
        r += '{';
        for (size_t i = 0; i < o_->items.size(); i++) {
            if (i) r += indent < 0 ? ", " : ",";
            nl(depth + 1);
            json_escape(o_->items[i].first, &r);
            r += ": " + o_->items[i].second.to_json(indent, depth + 1);
        }
        nl(depth);
        return r + '}';
    }
    return r;
}

bool value::equals(const value &o) const {
    if (is_number() && o.is_number()) {
        if (k_ == kind::number || o.k_ == kind::number) return as_double() == o.as_double();
        return i_ == o.i_;
    }
    if (k_ != o.k_) return (is_undefined() || is_none()) && (o.is_undefined() || o.is_none()) && k_ == o.k_;
    switch (k_) {
    case kind::undefined:
    case kind::none: return true;
    case kind::string: return *s_ == *o.s_;
    case kind::list:
        if (a_->size() != o.a_->size()) return false;
        for (size_t i = 0; i < a_->size(); i++)
            if (!(*a_)[i].equals((*o.a_)[i])) return false;
        return true;
    case kind::dict:
        if (o_->items.size() != o.o_->items.size()) return false;
        for (auto &kv : o_->items) {
            const value *p = o.o_->find(kv.first);
            if (!p || !kv.second.equals(*p)) return false;
        }
        return true;
    case kind::func: return f_ == o.f_;
    default: return false;
    }
}

namespace {
value from_nlohmann(const nlohmann::ordered_json &j) {
    switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return value(nullptr);
    case nlohmann::ordered_json::value_t::boolean: return value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: return value((int64_t)j.get<uint64_t>());
    case nlohmann::ordered_json::value_t::number_float: return value(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
        array a;
        for (auto &e : j) a.push_back(from_nlohmann(e));
        return value(std::move(a));
    }
    case nlohmann::ordered_json::value_t::object: {
        object o;
        for (auto it = j.begin(); it != j.end(); ++it) o.set(it.key(), from_nlohmann(it.value()));
        return value(std::move(o));
    }
    default: return value();
    }
}
} // namespace

status value_from_json(const std::string &json, value *out) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(json, nullptr, false);
    TERN_CHECK_OR_RETURN(!j.is_discarded(), code::invalid_argument, "invalid JSON");
    *out = from_nlohmann(j);
    return status::ok();
}

} // namespace tern::jinja
