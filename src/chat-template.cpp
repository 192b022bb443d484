// chat-template.cpp — renders a conversation into a prompt. The model's `tokenizer.chat_template`
// (or a template text given by the caller) runs through the Jinja interpreter (jinja.h) with the
// variables Hugging Face passes: messages, add_generation_prompt, bos_token, eos_token. Built-in
// formats (chatml, llama2, llama3, mistral, gemma, phi3) serve models without a template, a
// template the interpreter cannot run, and callers naming a family.
#include "jinja.h"
#include "runtime.h"

#include <cstring>

namespace tern {

namespace {

enum class family { chatml, llama3, llama2, mistral, gemma, phi3, unknown };

family family_named(const std::string &t) {
    if (t == "chatml") return family::chatml;
    if (t == "llama3") return family::llama3;
    if (t == "llama2") return family::llama2;
    if (t == "mistral") return family::mistral;
    if (t == "gemma") return family::gemma;
    if (t == "phi3") return family::phi3;
    return family::unknown;
}

family detect(const std::string &t) {
    if (t == "chatml" || t.find("<|im_start|>") != std::string::npos) return family::chatml;
    if (t == "llama3" || t.find("<|start_header_id|>") != std::string::npos) return family::llama3;
    if (t == "gemma" || t.find("<start_of_turn>") != std::string::npos) return family::gemma;
    if (t == "phi3" || (t.find("<|user|>") != std::string::npos && t.find("<|end|>") != std::string::npos))
        return family::phi3;
    if (t.find("[INST]") != std::string::npos) return t.find("<<SYS>>") != std::string::npos ? family::llama2 : family::mistral;
    return family::unknown;
}

std::string render_builtin(family fam, const std::string &bos, const std::string &eos, const tern_chat_message *msgs,
                           size_t n, bool add_assistant) {
    std::string out;
    switch (fam) {
    case family::chatml:
        for (size_t i = 0; i < n; i++) out += "<|im_start|>" + std::string(msgs[i].role) + "\n" + msgs[i].content + "<|im_end|>\n";
        if (add_assistant) out += "<|im_start|>assistant\n";
        break;
    case family::llama3:
        out += bos;
        for (size_t i = 0; i < n; i++)
            out += "<|start_header_id|>" + std::string(msgs[i].role) + "<|end_header_id|>\n\n" + msgs[i].content + "<|eot_id|>";
        if (add_assistant) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
        break;
    case family::gemma: {
        out += bos;
        std::string sys;
        for (size_t i = 0; i < n; i++) {
            const std::string role = msgs[i].role;
            if (role == "system") {
                sys += std::string(msgs[i].content) + "\n\n";
                continue;
            }
            out += "<start_of_turn>" + std::string(role == "assistant" ? "model" : role) + "\n" + sys + msgs[i].content +
                   "<end_of_turn>\n";
            sys.clear();
        }
        if (add_assistant) out += "<start_of_turn>model\n";
        break;
    }
    case family::phi3:
        for (size_t i = 0; i < n; i++) out += "<|" + std::string(msgs[i].role) + "|>\n" + msgs[i].content + "<|end|>\n";
        if (add_assistant) out += "<|assistant|>\n";
        break;
    case family::llama2: {
        std::string sys;
        for (size_t i = 0; i < n; i++) {
            const std::string role = msgs[i].role;
            if (role == "system") sys = "<<SYS>>\n" + std::string(msgs[i].content) + "\n<</SYS>>\n\n";
            else if (role == "user") out += bos + "[INST] " + sys + msgs[i].content + " [/INST]", sys.clear();
            else out += std::string(" ") + msgs[i].content + eos;
        }
        break;
    }
    case family::mistral: {
        // Mistral instruct: the system prompt joins the first user turn.
        std::string sys;
        out += bos;
        for (size_t i = 0; i < n; i++) {
            const std::string role = msgs[i].role;
            if (role == "system") sys = std::string(msgs[i].content) + "\n\n";
            else if (role == "user") out += "[INST] " + sys + msgs[i].content + " [/INST]", sys.clear();
            else out += std::string(" ") + msgs[i].content + eos;
        }
        break;
    }
    case family::unknown: break;
    }
    return out;
}

} // namespace

std::string chat_render_template(const std::string &tmpl, const tern_chat_message *msgs, size_t n, bool add_assistant,
                                 const std::string &bos, const std::string &eos, status *st) {
    jinja::template_ jt;
    status ps = jt.parse(tmpl);
    if (!ps) {
        *st = status(code::bad_format, ps.message());
        return "";
    }
    jinja::array ms;
    for (size_t i = 0; i < n; i++) {
        jinja::object m;
        m.set("role", jinja::value(msgs[i].role ? msgs[i].role : ""));
        m.set("content", jinja::value(msgs[i].content ? msgs[i].content : ""));
        ms.push_back(jinja::value(std::move(m)));
    }
    jinja::object g;
    g.set("messages", jinja::value(std::move(ms)));
    g.set("add_generation_prompt", jinja::value(add_assistant));
    g.set("bos_token", jinja::value(bos));
    g.set("eos_token", jinja::value(eos));
    std::string out;
    *st = jt.render(jinja::value(std::move(g)), &out);
    return *st ? out : "";
}

std::string chat_apply_template(const tern_model *model, const char *tmpl, const tern_chat_message *msgs, size_t n,
                                bool add_assistant, status *st) {
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            *st = make_status(code::invalid_argument, "chat message %zu has no role or content", i);
            return "";
        }
    }
    std::string t;
    if (tmpl) t = tmpl;
    else model->file->get_str("tokenizer.chat_template", &t);
    const std::string bos = model->voc.bos >= 0 ? model->voc.text(model->voc.bos) : "";
    const std::string eos = model->voc.eos >= 0 ? model->voc.text(model->voc.eos) : "";
    family fam = family_named(t);
    if (fam == family::unknown && !t.empty()) {
        status ps;
        std::string out = chat_render_template(t, msgs, n, add_assistant, bos, eos, &ps);
        if (ps || ps.err() != code::bad_format) {
            *st = ps;
            return out;
        }
        if (tmpl) { // the caller's own template must work
            *st = status(code::invalid_argument, ps.message());
            return "";
        }
        log_msg(TERN_LOG_WARN, "the model's chat template cannot be interpreted (%s); using a built-in format",
                ps.message().c_str());
        fam = detect(t);
    }
    if (fam == family::unknown && t.empty()) { // no template in the file: the architecture's usual format
        const std::string &a = model->hp.arch;
        if (a.rfind("gemma", 0) == 0) fam = family::gemma;
        else if (a == "phi3") fam = family::phi3;
        else if (a == "llama" && model->voc.find("<|eot_id|>") >= 0) fam = family::llama3;
    }
    if (fam == family::unknown) fam = family::chatml;
    *st = status::ok();
    return render_builtin(fam, bos, eos, msgs, n, add_assistant);
}

} // namespace tern
