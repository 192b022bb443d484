#!/usr/bin/env python3
# Renders each template in this folder over fixed conversations with Jinja2 configured as Hugging
# Face's apply_chat_template does (trim_blocks, lstrip_blocks, loopcontrols, raise_exception,
# tojson without ASCII escaping) and writes expected.json, which tests/test-chat.cpp compares
# tern's interpreter against character by character. Needs python3-jinja2; run it when a
# template or conversation changes.
import json, os, glob
import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

class TemplateError(Exception):
    pass

def raise_exception(msg):
    raise TemplateError(msg)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception

conversations = {
    "user": [{"role": "user", "content": "What is the capital of France?"}],
    "system_user": [{"role": "system", "content": "You answer in one word."},
                    {"role": "user", "content": "  Name a colour.  "}],
    "multi_turn": [{"role": "system", "content": "Be brief."},
                   {"role": "user", "content": "Hi there"},
                   {"role": "assistant", "content": "Hello! How can I help?"},
                   {"role": "user", "content": "Tell me a joke about cats"}],
    "no_system_two_turns": [{"role": "user", "content": "2+2?"},
                            {"role": "assistant", "content": "4"},
                            {"role": "user", "content": "and 3+3?"}],
    "thinking": [{"role": "user", "content": "Why is the sky blue?"},
                 {"role": "assistant", "content": "<think>\nRayleigh.\n</think>\n\nScattering."},
                 {"role": "user", "content": "Unicode: héllo ✓ \"quoted\""}],
}

here = os.path.dirname(os.path.abspath(__file__))
cases = []
for path in sorted(glob.glob(os.path.join(here, "*.jinja"))):
    name = os.path.basename(path)[:-6]
    src = open(path, encoding="utf-8").read()
    tmpl = env.from_string(src)
    for conv_name, msgs in conversations.items():
        for agp in (True, False):
            case = {"template": name, "conversation": conv_name, "add_generation_prompt": agp}
            try:
                case["output"] = tmpl.render(messages=msgs, add_generation_prompt=agp, bos_token="<s>",
                                             eos_token="</s>")
            except TemplateError as e:
                case["error"] = str(e)
            cases.append(case)
with open(os.path.join(here, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({"conversations": conversations, "cases": cases}, f, ensure_ascii=False, indent=1)
print(f"{len(cases)} cases")
