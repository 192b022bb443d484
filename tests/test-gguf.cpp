// test-gguf.cpp — GGUF reader/writer: round trips, real files, and hostile input (truncation
// at every cut point, corrupt counts/dims/offsets/types, random byte flips) that must give a
// clean error and never crash.
#include "test-util.h"

#include "ggml/gguf.h"

#include <cstring>
#include <random>

using namespace tern;

namespace {

std::vector<uint8_t> sample_file() {
    gguf_writer w;
    w.set_str("general.architecture", "llama");
    w.set_u32("llama.block_count", 2);
    w.set_i32("some.int", -5);
    w.set_f32("some.float", 1.5f);
    w.set_bool("some.bool", true);
    w.set_arr_str("tokenizer.ggml.tokens", {"a", "b", "c"});
    w.set_arr_f32("tokenizer.ggml.scores", {0.f, -1.f, -2.f});
    w.set_arr_i32("tokenizer.ggml.token_type", {1, 1, 3});
    static std::vector<float> t0(64 * 3, 0.25f);
    static std::vector<uint8_t> t1(row_size(type::q8_0, 64) * 2, 7);
    const int64_t ne0[2] = {64, 3}, ne1[2] = {64, 2};
    w.add_tensor("t0", type::f32, ne0, 2, t0.data());
    w.add_tensor("t1", type::q8_0, ne1, 2, t1.data());
    return w.to_bytes();
}

} // namespace

TEST_SUITE("gguf") {

TEST_CASE("writer output parses back with every value") {
    const auto b = sample_file();
    std::unique_ptr<gguf_file> f;
    status st = gguf_file::parse(b.data(), b.size(), &f);
    REQUIRE_MESSAGE(st.is_ok(), st.message());
    CHECK(f->version == 3);
    std::string s;
    CHECK(f->get_str("general.architecture", &s));
    CHECK(s == "llama");
    int64_t i = 0;
    CHECK(f->get_i64("llama.block_count", &i));
    CHECK(i == 2);
    CHECK(f->get_i64("some.int", &i));
    CHECK(i == -5);
    double d = 0;
    CHECK(f->get_f64("some.float", &d));
    CHECK(d == 1.5);
    bool bo = false;
    CHECK(f->get_bool("some.bool", &bo));
    CHECK(bo);
    const gguf_kv *toks = f->find("tokenizer.ggml.tokens");
    REQUIRE(toks);
    CHECK(toks->arr_str == std::vector<std::string>{"a", "b", "c"});
    CHECK(f->find("tokenizer.ggml.scores")->arr_at<float>(2) == -2.0f);
    CHECK(f->find("tokenizer.ggml.token_type")->arr_at<int32_t>(2) == 3);
    REQUIRE(f->tensors.size() == 2);
    const gguf_tensor_info *t0 = f->find_tensor("t0");
    REQUIRE(t0);
    CHECK(t0->ne[0] == 64);
    CHECK(t0->ne[1] == 3);
    CHECK(t0->n_bytes == 64 * 3 * 4);
    CHECK(((const float *)f->tensor_data(*t0))[5] == 0.25f);
    const gguf_tensor_info *t1 = f->find_tensor("t1");
    REQUIRE(t1);
    CHECK(t1->ttype == type::q8_0);
    CHECK(t1->n_bytes == 34 * 2 * 2);
    CHECK(f->tensor_data(*t1)[0] == 7);
    CHECK((f->data_offset % 32) == 0);
}

TEST_CASE("copy_kv reproduces a real file's metadata byte for byte") {
    const std::string path = test_util::model_path("stories260K.gguf");
    SKIP_IF_MISSING(path);
    std::unique_ptr<gguf_file> f;
    REQUIRE(gguf_file::open(path, &f).is_ok());
    CHECK(f->tensors.size() == 48);
    gguf_writer w;
    for (const auto &kv : f->kvs) w.copy_kv(kv);
    for (const auto &t : f->tensors) w.add_tensor(t.name, t.ttype, t.ne, t.n_dims, f->tensor_data(t));
    const auto b = w.to_bytes();
    CHECK(b.size() == f->file_size());
    CHECK(std::memcmp(b.data(), f->base(), b.size()) == 0);
}

TEST_CASE("truncation at every cut point is a clean error") {
    const auto b = sample_file();
    std::unique_ptr<gguf_file> whole;
    REQUIRE(gguf_file::parse(b.data(), b.size(), &whole).is_ok());
    const auto &last = whole->tensors.back();
    const size_t data_end = whole->data_offset + last.offset + last.n_bytes; // padding after it is optional
    for (size_t cut = 0; cut < b.size(); cut++) {
        std::unique_ptr<gguf_file> f;
        status st = gguf_file::parse(b.data(), cut, &f);
        if (cut < data_end) {
            CHECK_MESSAGE(!st.is_ok(), "cut at ", cut, " parsed");
            CHECK(!st.message().empty());
        } else {
            CHECK(st.is_ok());
        }
    }
}

TEST_CASE("truncated real model files are rejected") {
    const std::string path = test_util::model_path("stories260K.gguf");
    SKIP_IF_MISSING(path);
    std::ifstream in(path, std::ios::binary);
    std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), {});
    for (size_t cut : {(size_t)0, (size_t)3, (size_t)4, (size_t)8, (size_t)23, (size_t)100, (size_t)5000, (size_t)20000,
                       b.size() / 2, b.size() - 1}) {
        std::unique_ptr<gguf_file> f;
        CHECK_MESSAGE(!gguf_file::parse(b.data(), cut, &f).is_ok(), "cut ", cut);
    }
}

TEST_CASE("hostile headers name the problem") {
    auto patch64 = [](std::vector<uint8_t> b, size_t off, uint64_t v) {
        std::memcpy(b.data() + off, &v, 8);
        return b;
    };
    const auto good = sample_file();
    auto expect = [](const std::vector<uint8_t> &b, const char *needle) {
        std::unique_ptr<gguf_file> f;
        status st = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(!st.is_ok());
        CHECK_MESSAGE(st.message().find(needle) != std::string::npos, st.message());
    };
    auto bad_magic = good;
    bad_magic[0] = 'X';
    expect(bad_magic, "magic");
    auto bad_version = good;
    bad_version[4] = 9;
    expect(bad_version, "version");
    expect(patch64(good, 8, 1ull << 60), "tensor count");
    expect(patch64(good, 16, 1ull << 60), "metadata count");
    // first key's length
    expect(patch64(good, 24, ~0ull), "string length");
}

TEST_CASE("absurd tensor dims, offsets and types are rejected") {
    auto build = [](int64_t ne0, int64_t ne1, type t, uint32_t n_dims = 2) {
        gguf_writer w;
        static std::vector<uint8_t> data(1 << 16);
        const int64_t ne[2] = {ne0, ne1};
        w.add_tensor("x", t, ne, n_dims, data.data());
        return w;
    };
    std::unique_ptr<gguf_file> f;
    // A huge tensor whose data is not in the file.
    {
        gguf_writer w;
        std::vector<uint8_t> data(32 * 2 * 4);
        const int64_t ne[2] = {32, 2};
        w.add_tensor("x", type::f32, ne, 2, data.data());
        auto b = w.to_bytes();
        // locate ne[1] (after magic..counts (24), name len 8 + "x", n_dims 4, ne0 8)
        const size_t ne1_off = 24 + 8 + 1 + 4 + 8;
        uint64_t huge = 1ull << 40;
        std::memcpy(b.data() + ne1_off, &huge, 8);
        status st = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(!st.is_ok());
        uint64_t overflow = ~0ull >> 1;
        std::memcpy(b.data() + ne1_off, &overflow, 8);
        CHECK(!gguf_file::parse(b.data(), b.size(), &f).is_ok());
        uint64_t zero = 0;
        std::memcpy(b.data() + ne1_off, &zero, 8);
        CHECK(!gguf_file::parse(b.data(), b.size(), &f).is_ok());
        // n_dims = 7
        uint32_t dims = 7;
        std::memcpy(b.data() + 24 + 8 + 1, &dims, 4);
        status st2 = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(st2.message().find("dimensions") != std::string::npos);
    }
    {
        auto b = build(32, 2, type::f32).to_bytes();
        const size_t type_off = 24 + 8 + 1 + 4 + 16;
        uint32_t t = 1000;
        std::memcpy(b.data() + type_off, &t, 4);
        status st = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(st.err() == code::unsupported);
        CHECK(st.message().find("unknown type") != std::string::npos);
        t = 131; // the retired first tl4 layout: named, with what to do
        std::memcpy(b.data() + type_off, &t, 4);
        st = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(st.err() == code::unsupported);
        CHECK_MESSAGE(st.message().find("TL4") != std::string::npos, st.message());
        t = (uint32_t)type::q4_0x16; // tern's in-memory layout is never read from a file
        std::memcpy(b.data() + type_off, &t, 4);
        st = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(st.err() == code::unsupported);
        CHECK_MESSAGE(st.message().find("in-memory layout") != std::string::npos, st.message());
        uint64_t off = 1ull << 50;
        t = 0;
        std::memcpy(b.data() + type_off, &t, 4);
        std::memcpy(b.data() + type_off + 4, &off, 8);
        st = gguf_file::parse(b.data(), b.size(), &f);
        CHECK(st.message().find("outside") != std::string::npos);
        off = 3; // misaligned
        std::memcpy(b.data() + type_off + 4, &off, 8);
        CHECK(gguf_file::parse(b.data(), b.size(), &f).message().find("aligned") != std::string::npos);
    }
    {
        // q8_0 rows must be whole blocks
        auto b = build(33, 1, type::f32).to_bytes();
        uint32_t t = (uint32_t)type::q8_0;
        std::memcpy(b.data() + 24 + 8 + 1 + 4 + 16, &t, 4);
        CHECK(gguf_file::parse(b.data(), b.size(), &f).message().find("block size") != std::string::npos);
    }
    {
        // LUT types: rows come in tiles of 32, and the tiles must fit in the file
        auto b = build(64, 3, type::f32).to_bytes();
        uint32_t t = (uint32_t)type::tl2;
        std::memcpy(b.data() + 24 + 8 + 1 + 4 + 16, &t, 4);
        CHECK(gguf_file::parse(b.data(), b.size(), &f).message().find("tile of 32 rows") != std::string::npos);
        auto b2 = build(64, 64, type::f32).to_bytes();
        std::memcpy(b2.data() + 24 + 8 + 1 + 4 + 16, &t, 4);
        CHECK(gguf_file::parse(b2.data(), b2.size(), &f).is_ok()); // 64 x 64 tl2 = 2560 bytes, inside
        uint64_t rows = 1ull << 36;
        std::memcpy(b2.data() + 24 + 8 + 1 + 4 + 8, &rows, 8);
        CHECK(!gguf_file::parse(b2.data(), b2.size(), &f).is_ok());
    }
}

TEST_CASE("random corruption never crashes (fuzz smoke, 3000 mutants)") {
    const auto good = sample_file();
    std::mt19937 rng(42);
    int rejected = 0;
    for (int it = 0; it < 3000; it++) {
        auto b = good;
        const int flips = 1 + (int)(rng() % 8);
        for (int k = 0; k < flips; k++) b[rng() % b.size()] = (uint8_t)rng();
        if (rng() % 4 == 0) b.resize(rng() % b.size());
        std::unique_ptr<gguf_file> f;
        status st = gguf_file::parse(b.data(), b.size(), &f);
        if (!st.is_ok()) {
            rejected++;
            continue;
        }
        // Whatever parsed must be internally consistent.
        for (const auto &t : f->tensors) CHECK(f->data_offset + t.offset + t.n_bytes <= b.size());
    }
    CHECK(rejected > 0);
}

TEST_CASE("a 4096-byte alignment pads every tensor with zeros to a page (flash-prepare's files)") {
    const std::string path = test_util::temp_path("align4096.gguf");
    gguf_writer w(4096);
    w.set_str("general.architecture", "test");
    std::vector<uint8_t> a(100, 0xAB), b(5000, 0xCD);
    const int64_t na[1] = {100}, nb[1] = {5000};
    w.add_tensor("a", type::i8, na, 1, a.data());
    w.add_tensor("b", type::i8, nb, 1, b.data());
    REQUIRE(w.write(path).is_ok());
    std::unique_ptr<gguf_file> f;
    REQUIRE(gguf_file::open(path, &f).is_ok());
    CHECK(f->alignment == 4096);
    const gguf_tensor_info *ta = f->find_tensor("a"), *tb = f->find_tensor("b");
    REQUIRE((ta && tb));
    CHECK((f->data_offset + ta->offset) % 4096 == 0);
    CHECK((f->data_offset + tb->offset) % 4096 == 0);
    CHECK(std::memcmp(f->tensor_data(*ta), a.data(), a.size()) == 0);
    CHECK(std::memcmp(f->tensor_data(*tb), b.data(), b.size()) == 0);
    for (size_t i = 100; i < 4096; i++) REQUIRE(f->tensor_data(*ta)[i] == 0); // the padding
    f.reset();
    std::remove(path.c_str());
}

TEST_CASE("open() reports missing files and non-GGUF files") {
    std::unique_ptr<gguf_file> f;
    status st = gguf_file::open("/nonexistent/model.gguf", &f);
    CHECK(st.err() == code::io);
    CHECK(st.message().find("/nonexistent/model.gguf") != std::string::npos);
    st = gguf_file::open("/etc/hostname", &f);
    CHECK(st.err() == code::bad_format);
    st = gguf_file::open("/tmp", &f);
    CHECK(!st.is_ok());
}
}
