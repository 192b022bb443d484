// chat-template.cpp — renders a conversation in the prompt format of the model's family. The
// family is recognised from markers in `tokenizer.chat_template` (or named directly). A real
// Jinja interpreter for arbitrary templates comes with `tern chat`/`serve` (issue 7).
#include "runtime.h"

#include <cstring>

namespace tern {

namespace {

enum class family { chatml, llama3, llama2, gemma, phi3, unknown };

family detect(const std::string &t) {
    if (t == "chatml" || t.find("<|im_start|>") != std::string::npos) return family::chatml;
    if (t == "llama3" || t.find("<|start_header_id|>") != std::string::npos) return family::llama3;
    if (t == "gemma" || t.find("<start_of_turn>") != std::string::npos) return family::gemma;
    if (t == "phi3" || (t.find("<|user|>") != std::string::npos && t.find("<|end|>") != std::string::npos))
        return family::phi3;
    if (t == "llama2" || t == "mistral" || t.find("[INST]") != std::string::npos) return family::llama2;
    return family::unknown;
}

} // namespace

std::string chat_apply_template(const tern_model *model, const char *tmpl, const tern_chat_message *msgs, size_t n,
                                bool add_assistant, status *st) {
    std::string t;
    if (tmpl) t = tmpl;
    else model->file->get_str("tokenizer.chat_template", &t);
    family fam = detect(t);
    if (fam == family::unknown) fam = family::chatml;
    std::string out;
    const std::string bos = model->voc.bos >= 0 ? model->voc.text(model->voc.bos) : "";
    for (size_t i = 0; i < n; i++) {
        if (!msgs[i].role || !msgs[i].content) {
            *st = make_status(code::invalid_argument, "chat message %zu has no role or content", i);
            return "";
        }
    }
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
            else out += std::string(" ") + msgs[i].content + "</s>";
        }
        break;
    }
    case family::unknown: break;
    }
    *st = status::ok();
    return out;
}

} // namespace tern
