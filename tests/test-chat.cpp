// test-chat.cpp — chat templates: the Jinja interpreter against Jinja2's own renderings of real
// templates (tests/data/chat-templates/expected.json, made by make-expected.py), hostile
// templates, and the model-level API with built-in fallbacks.
#include "test-util.h"

#include "jinja.h"
#include "runtime.h"

#include <fstream>
#include <set>
#include <sstream>

namespace {

std::string data_dir() { return std::string(TERN_SOURCE_DIR) + "/tests/data/chat-templates/"; }

std::string read_file(const std::string &p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::string render(const std::string &tmpl, const std::vector<std::pair<std::string, std::string>> &msgs, bool agp,
                   tern::status *st) {
    std::vector<tern_chat_message> m;
    for (auto &p : msgs) m.push_back({p.first.c_str(), p.second.c_str()});
    return tern::chat_render_template(tmpl, m.data(), m.size(), agp, "<s>", "</s>", st);
}

std::string render_src(const std::string &src, const std::string &globals_json = "{}") {
    tern::jinja::template_ t;
    tern::status st = t.parse(src);
    if (!st) return "PARSE ERROR: " + st.message();
    tern::jinja::value g;
    REQUIRE(tern::jinja::value_from_json(globals_json, &g));
    std::string out;
    st = t.render(g, &out);
    if (!st) return "ERROR: " + st.message();
    return out;
}

} // namespace

TEST_SUITE("chat") {

TEST_CASE("real chat templates render exactly as Jinja2 renders them") {
    const nlohmann::json exp = test_util::load_json(data_dir() + "expected.json");
    const auto &convs = exp["conversations"];
    int n_ok = 0, n_err = 0;
    std::set<std::string> templates;
    for (const auto &c : exp["cases"]) {
        const std::string name = c["template"], conv = c["conversation"];
        templates.insert(name);
        std::vector<std::pair<std::string, std::string>> msgs;
        for (const auto &m : convs[conv]) msgs.emplace_back(m["role"], m["content"]);
        tern::status st;
        const std::string out = render(read_file(data_dir() + name + ".jinja"), msgs, c["add_generation_prompt"], &st);
        CAPTURE(name);
        CAPTURE(conv);
        if (c.contains("error")) {
            CHECK_FALSE(st.is_ok());
            CHECK(st.message().find(c["error"].get<std::string>()) != std::string::npos);
            n_err++;
        } else {
            REQUIRE_MESSAGE(st.is_ok(), st.message());
            CHECK(out == c["output"].get<std::string>());
            n_ok++;
        }
    }
    CHECK(templates.size() >= 7);
    CHECK(n_ok >= 50);
    CHECK(n_err >= 4); // raise_exception paths (system role, alternation)
}

TEST_CASE("jinja: whitespace control, scoping and Python semantics") {
    CHECK(render_src("{% for x in [1,2] %}\n  {{ x }}\n{% endfor %}") == "  1\n  2\n");
    CHECK(render_src("a  {%- if true -%}  b  {%- endif -%}  c") == "abc");
    CHECK(render_src("  {% if true %}x{% endif %}") == "x");          // lstrip_blocks
    CHECK(render_src("  {%+ if true %}x{% endif %}") == "  x");       // '+' keeps the indent
    CHECK(render_src("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}") == "1");
    CHECK(render_src("{% set ns = namespace(x=1) %}{% for i in [1] %}{% set ns.x = 2 %}{% endfor %}{{ ns.x }}") == "2");
    CHECK(render_src("{{ none }} {{ true }} {{ 1.0 }} {{ 0.1 + 0.2 }} {{ ['a', 1] }} {{ 7 // -2 }} {{ -7 % 3 }}") ==
          "None True 1.0 0.30000000000000004 ['a', 1] -4 2");
    CHECK(render_src("{{ 'abc'[::-1] }}{{ 'abc'[1:] }}{{ [1,2,3][-1] }}{{ 'abc'[-5:2] }}") == "cbabc3ab");
    CHECK(render_src("{{ x.y.z is defined }}{{ y | default('d') }}", R"({"x": {"y": {}}})") == "Falsed");
    CHECK(render_src("{{ m | tojson }}", R"({"m": {"b": "é\n\"", "a": [1, 2.5]}})") == R"({"b": "é\n\"", "a": [1, 2.5]})");
    CHECK(render_src("{{ m | tojson(indent=2) }}", R"({"m": {"a": [1]}})") == "{\n  \"a\": [\n    1\n  ]\n}");
    CHECK(render_src("{% raw %}{{ not parsed }}{% endraw %}") == "{{ not parsed }}");
    CHECK(render_src("{{ 'x' if false }}|{{ 'a' ~ 1 ~ none }}") == "|a1None");
}

TEST_CASE("jinja: hostile or broken templates fail with a message, never crash or hang") {
    CHECK(render_src("{% if x %}unterminated").find("missing {% endif %}") != std::string::npos);
    CHECK(render_src("{{ 1 + }}").find("PARSE ERROR") == 0);
    CHECK(render_src("{{ 'a' ").find("unterminated") != std::string::npos);
    CHECK(render_src("{% frobnicate %}").find("unknown tag") != std::string::npos);
    CHECK(render_src("{{ x | nosuchfilter }}").find("unknown filter") != std::string::npos);
    CHECK(render_src("{{ raise_exception('no way') }}").find("no way") != std::string::npos);
    CHECK(render_src("{{ 1 / 0 }}").find("division by zero") != std::string::npos);
    CHECK(render_src("{{ 'a' < 1 }}").find("ERROR") == 0);
    // Runaway work and output are cut off.
    CHECK(render_src("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}").find("too long") !=
          std::string::npos);
    CHECK(render_src("{% set s = 'x' * 1000000 %}{% for i in range(100) %}{{ s }}{% endfor %}").find("limit") !=
          std::string::npos);
    CHECK(render_src("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}").find("recursion") != std::string::npos);
    std::string deep(5000, '(');
    CHECK(render_src("{{ " + deep + "1 }}").find("too deeply") != std::string::npos);
    std::string nested;
    for (int i = 0; i < 500; i++) nested += "{% if true %}";
    CHECK(render_src(nested).find("PARSE ERROR") == 0);
    // Random garbage: errors or output, but no crash.
    uint64_t s = 12345;
    const char alphabet[] = "{}%#-+ abc'\"()[]|.:,=!<>~*/0123456789\n";
    for (int it = 0; it < 3000; it++) {
        std::string t;
        const int len = 1 + (int)(s % 60);
        for (int i = 0; i < len; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            t += alphabet[(s >> 33) % (sizeof alphabet - 1)];
        }
        (void)render_src(t, R"({"abc": [1, "x"], "a": {"b": 2}})");
    }
}

TEST_CASE("model chat template: GGUF template, --chat-template names and text, fallback") {
    const std::string path = test_util::default_model();
    SKIP_IF_MISSING(path);
    tern_model_params mp = tern_model_default_params();
    mp.vocab_only = true;
    tern_model *m = nullptr;
    REQUIRE(tern_model_load(path.c_str(), &mp, &m) == TERN_OK);
    const tern_chat_message msgs[] = {{"user", "Hi"}};
    char buf[1024];
    REQUIRE(tern_chat_apply_template(m, nullptr, msgs, 1, true, buf, sizeof buf) > 0);
    CHECK(std::string(buf) == "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
                              "Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    REQUIRE(tern_chat_apply_template(m, "llama3", msgs, 1, true, buf, sizeof buf) > 0);
    CHECK(std::string(buf) == "<|im_start|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
    REQUIRE(tern_chat_apply_template(m, "{{ messages[0].content | upper }}!", msgs, 1, true, buf, sizeof buf) > 0);
    CHECK(std::string(buf) == "HI!");
    CHECK(tern_chat_apply_template(m, "{% if %}", msgs, 1, true, buf, sizeof buf) == -1);
    CHECK(std::string(tern_last_error()).find("chat template") != std::string::npos);
    tern_model_free(m);
}

} // TEST_SUITE
