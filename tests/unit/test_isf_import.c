/* Importing Volatility 3 ISF files: conversion, the real ISFs round trip,
 * compression, the user directory, and malformed input. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <lzma.h>
#include <zlib.h>

#include "memsift/profile.h"
#include "symbols/builtin_profiles.h"
#include "symbols/isf_internal.h"
#include "symbols/profile_internal.h"

#define KERNEL_GUID "CA8E2F01B822EDE6357898BFBF862997"
#define TCPIP_GUID "021C12B15F95E1F661DCDEEFB190095A"

/* ---- helpers ---- */

static char *shared_path(const char *rel)
{
    const char *shared = getenv("MEMSIFT_SHARED");
    if (shared == NULL)
        return NULL;
    size_t n = strlen(shared) + strlen(rel) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", shared, rel);
    if (access(p, R_OK) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

/* A file of the source tree (this file is tests/unit/test_isf_import.c). */
static char *source_path(const char *rel)
{
    const char *self = __FILE__;
    const char *cut = strstr(self, "tests/unit/test_isf_import.c");
    if (cut == NULL)
        return NULL;
    size_t n = (size_t)(cut - self) + strlen(rel) + 1;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%.*s%s", (int)(cut - self), self, rel);
    if (access(p, R_OK) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

static char *temp_dir(const char *tag)
{
    const char *base = getenv("MEMSIFT_TEST_TMP");
    char tmpl[512];
    snprintf(tmpl, sizeof tmpl, "%s/isf-%s-XXXXXX", base ? base : "/tmp", tag);
    char *d = mkdtemp(tmpl);
    assert_non_null(d);
    return strdup(d);
}

static void remove_tree(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static uint8_t *gzip_bytes(const void *data, size_t len, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

static uint8_t *xz_bytes(const void *data, size_t len, size_t *out_len)
{
    size_t cap = lzma_stream_buffer_bound(len);
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    size_t pos = 0;
    assert_int_equal(lzma_easy_buffer_encode(1, LZMA_CHECK_CRC64, NULL, data, len, out, &pos, cap), LZMA_OK);
    *out_len = pos;
    return out;
}

/* A small ISF; the %s slots take replacements for the parts the malformed
 * cases change: metadata.windows, _FOO's size, the FooGlobal symbol. */
static const char isf_template[] =
    "{\"metadata\": {\"format\": \"6.1.0\", \"windows\": %s},\n"
    " \"base_types\": {\"pointer\": {\"size\": 8, \"kind\": \"int\", \"signed\": false, \"endian\": \"little\"},\n"
    "   \"unsigned long\": {\"size\": 4, \"kind\": \"int\", \"signed\": false, \"endian\": \"little\"},\n"
    "   \"unsigned char\": {\"size\": 1, \"kind\": \"char\", \"signed\": false, \"endian\": \"little\"}},\n"
    " \"user_types\": {\n"
    "   \"_FOO\": {\"kind\": \"struct\", \"size\": %s, \"fields\": {\n"
    "     \"Arr\": {\"offset\": 20, \"type\": {\"kind\": \"array\", \"count\": 4, \"subtype\": {\"kind\": \"base\", "
    "\"name\": \"unsigned char\"}}},\n"
    "     \"A\": {\"offset\": 0, \"type\": {\"kind\": \"base\", \"name\": \"unsigned long\"}},\n"
    "     \"Next\": {\"offset\": 8, \"type\": {\"kind\": \"pointer\", \"subtype\": {\"kind\": \"struct\", \"name\": "
    "\"_FOO\"}}},\n"
    "     \"Flags\": {\"offset\": 16, \"type\": {\"kind\": \"bitfield\", \"bit_position\": 3, \"bit_length\": 5, "
    "\"type\": {\"kind\": \"base\", \"name\": \"unsigned long\"}}},\n"
    "     \"Fn\": {\"offset\": 24, \"type\": {\"kind\": \"function\"}},\n"
    "     \"odd name\": {\"offset\": 4, \"type\": {\"kind\": \"base\", \"name\": \"unsigned long\"}}}},\n"
    "   \"_BAR\": {\"kind\": \"union\", \"size\": 8, \"fields\": {\n"
    "     \"Foo\": {\"offset\": 0, \"type\": {\"kind\": \"struct\", \"name\": \"_MISSING\"}},\n"
    "     \"E\": {\"offset\": 4, \"type\": {\"kind\": \"enum\", \"name\": \"_E\"}}}}},\n"
    " \"enums\": {},\n"
    " \"symbols\": {\"FooGlobal\": %s, \"Zed\": {\"address\": 16}, \"with space\": {\"address\": 1}}}\n";

static const char good_windows[] = "{\"pdb\": {\"GUID\": \"00112233445566778899aabbccddeeff\", \"age\": 2, "
                                   "\"database\": \"foo.pdb\", \"machine_type\": 34404}}";

static char *isf_text(const char *windows, const char *size, const char *symbol)
{
    size_t n = sizeof isf_template + strlen(windows) + strlen(size) + strlen(symbol);
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, isf_template, windows, size, symbol);
    return t;
}

static char *good_isf(void)
{
    return isf_text(good_windows, "28", "{\"address\": 4660}");
}

static ms_status import_text(const char *text, const ms_isf_import_options *opts, ms_isf_import **out)
{
    return ms_isf_import_buffer(text, strlen(text), "test.json", opts, out);
}

static ms_profile *parse_import(const ms_isf_import *imp)
{
    size_t len;
    const char *text = ms_isf_import_text(imp, &len);
    ms_profile *p = NULL;
    assert_int_equal(ms_profile_parse(text, len, "imported", &p), MS_OK);
    return p;
}

static void check_small_profile(const ms_isf_import *imp)
{
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    assert_string_equal(s->module, "foo");
    assert_string_equal(s->guid, "00112233445566778899AABBCCDDEEFF");
    assert_int_equal(s->age, 2);
    assert_int_equal(s->pointer_size, 8);
    assert_int_equal(s->structs, 2);
    assert_int_equal(s->fields, 7);
    assert_int_equal(s->symbols, 2);
    assert_int_equal(s->skipped_names, 2); /* "odd name", "with space" */
    ms_profile *p = parse_import(imp);
    uint32_t v, pos, len;
    assert_int_equal(ms_profile_struct_size(p, "_FOO", &v), MS_OK);
    assert_int_equal(v, 28);
    assert_int_equal(ms_profile_field(p, "_FOO", "Next", &v), MS_OK);
    assert_int_equal(v, 8);
    assert_int_equal(ms_profile_field(p, "_FOO", "Arr", &v), MS_OK);
    assert_int_equal(v, 20);
    assert_int_equal(ms_profile_bits(p, "_FOO", "Flags", &v, &pos, &len), MS_OK);
    assert_int_equal(v, 16);
    assert_int_equal(pos, 3);
    assert_int_equal(len, 5);
    assert_int_equal(ms_profile_field(p, "_BAR", "E", &v), MS_OK);
    assert_int_equal(v, 4);
    uint64_t rva;
    assert_int_equal(ms_profile_symbol(p, "FooGlobal", &rva), MS_OK);
    assert_int_equal(rva, 0x1234);
    assert_int_equal(ms_profile_symbol(p, "with", &rva), MS_ERR_NOT_FOUND);
    ms_profile_destroy(p);
    /* Members by offset; sizes where the type has one. */
    const char *text = ms_isf_import_text(imp, NULL);
    assert_non_null(strstr(text, "struct _FOO 0x1c\n"
                                 "field _FOO A 0x0 0x4\n"
                                 "field _FOO Next 0x8 0x8\n"
                                 "bits _FOO Flags 0x10 3 5\n"
                                 "field _FOO Arr 0x14 0x4\n"
                                 "field _FOO Fn 0x18\n"));
    assert_non_null(strstr(text, "field _BAR Foo 0x0\nfield _BAR E 0x4 0x4\n"));
}

/* ---- conversion of a small hand-written ISF, plain and compressed ---- */

static void converts_plain_gzip_and_xz(void **state)
{
    (void)state;
    char *text = good_isf();
    size_t len = strlen(text);
    ms_isf_import *imp = NULL;
    assert_int_equal(import_text(text, NULL, &imp), MS_OK);
    check_small_profile(imp);
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    assert_int_equal(s->build_min, MS_PROFILE_BUILD_PDB_ONLY);
    assert_string_equal(s->name, "foo-x64-00112233445566778899AABBCCDDEEFF-2");
    assert_null(ms_isf_import_index_line(imp));
    ms_isf_import_destroy(imp);

    size_t zlen;
    uint8_t *gz = gzip_bytes(text, len, &zlen);
    assert_int_equal(ms_isf_import_buffer(gz, zlen, "test.json.gz", NULL, &imp), MS_OK);
    check_small_profile(imp);
    ms_isf_import_destroy(imp);
    /* Truncated compressed streams. */
    assert_int_equal(ms_isf_import_buffer(gz, zlen / 2, "cut.gz", NULL, &imp), MS_ERR_TRUNCATED);
    assert_non_null(strstr(ms_last_error(), "truncated"));
    free(gz);

    uint8_t *xz = xz_bytes(text, len, &zlen);
    assert_int_equal(ms_isf_import_buffer(xz, zlen, "test.json.xz", NULL, &imp), MS_OK);
    check_small_profile(imp);
    ms_isf_import_destroy(imp);
    assert_int_equal(ms_isf_import_buffer(xz, zlen - 20, "cut.xz", NULL, &imp), MS_ERR_TRUNCATED);
    xz[zlen / 2] ^= 0x55;
    assert_int_not_equal(ms_isf_import_buffer(xz, zlen, "bad.xz", NULL, &imp), MS_OK);
    free(xz);
    free(text);
}

static void builds_names_and_versions(void **state)
{
    (void)state;
    char *text = good_isf();
    ms_isf_import *imp = NULL;
    ms_isf_import_options opts = {17763, NULL};
    assert_int_equal(import_text(text, &opts, &imp), MS_OK);
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    assert_int_equal(s->build_min, 17763);
    assert_int_equal(s->build_max, 17763);
    assert_string_equal(s->name, "foo-17763-x64");
    assert_non_null(strstr(ms_isf_import_text(imp, NULL), "\nbuilds 17763 17763\n"));
    ms_isf_import_destroy(imp);
    free(text);

    /* metadata.windows.pe wins over --build. */
    text = isf_text("{\"pe\": {\"major\": 10, \"minor\": 0, \"build\": 22621, \"revision\": 2861}, \"pdb\": "
                    "{\"GUID\": \"00112233445566778899aabbccddeeff\", \"age\": 1, \"database\": \"foo.pdb\", "
                    "\"machine_type\": 332}}",
                    "28", "{\"address\": 4660}");
    /* 332 = 0x14c: x86, but base_types.pointer.size says 8. */
    assert_int_equal(import_text(text, &opts, &imp), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "disagrees"));
    free(text);
    text = isf_text("{\"pe\": {\"major\": 10, \"minor\": 0, \"build\": 22621, \"revision\": 2861}, \"pdb\": "
                    "{\"GUID\": \"00112233445566778899aabbccddeeff\", \"age\": 1, \"database\": \"foo.pdb\"}}",
                    "28", "{\"address\": 4660}");
    assert_int_equal(import_text(text, &opts, &imp), MS_OK);
    s = ms_isf_import_summary(imp);
    assert_int_equal(s->build_min, 22621);
    assert_string_equal(s->version, "10.0.22621.2861");
    assert_non_null(strstr(ms_isf_import_text(imp, NULL), "\nversion 10.0.22621.2861\n"));
    ms_isf_import_destroy(imp);

    ms_isf_import_options named = {0, "my-profile.1"};
    assert_int_equal(import_text(text, &named, &imp), MS_OK);
    assert_string_equal(ms_isf_import_summary(imp)->name, "my-profile.1");
    ms_isf_import_destroy(imp);
    static const char *const bad_names[] = {"../evil", "a b", "", ".hidden", "x/y", "-r"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        ms_isf_import_options bad = {0, bad_names[i]};
        assert_int_equal(import_text(text, &bad, &imp), MS_ERR_ARG);
    }
    free(text);
}

/* ---- malformed input ---- */

static void expect_failure(const char *text, size_t len, ms_status status, const char *needle)
{
    ms_isf_import *imp = NULL;
    ms_status st = ms_isf_import_buffer(text, len, "bad.json", NULL, &imp);
    if (st != status || strstr(ms_last_error(), needle) == NULL)
        fail_msg("expected status %d with '%s', got %d: %s", (int)status, needle, (int)st, ms_last_error());
    assert_null(imp);
}

static void expect_template_failure(const char *windows, const char *size, const char *symbol, ms_status status,
                                    const char *needle)
{
    char *text = isf_text(windows, size, symbol);
    expect_failure(text, strlen(text), status, needle);
    free(text);
}

static void rejects_malformed_isf(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        ms_status status;
        const char *needle;
    } cases[] = {
        {"", MS_ERR_FORMAT, "empty"},
        {"hello world", MS_ERR_FORMAT, "not JSON"},
        {"[1, 2]", MS_ERR_FORMAT, "JSON array"},
        {"{\"metadata\": {}, \"symbols\": {}", MS_ERR_TRUNCATED, "truncated"},
        {"{\"a\": 1, \"a\": 2}", MS_ERR_FORMAT, "invalid JSON"},
        {"{\"a\": \"\\u0000\"}", MS_ERR_FORMAT, "invalid JSON"},
        {"{\"name\": \"not an ISF\"}", MS_ERR_FORMAT, "expected a 'metadata' object"},
        {"{\"metadata\": \"x\", \"user_types\": {}, \"base_types\": {}, \"symbols\": {}}", MS_ERR_FORMAT,
         "'metadata' object"},
        {"{\"metadata\": {}, \"user_types\": [], \"base_types\": {}, \"symbols\": {}}", MS_ERR_FORMAT,
         "'user_types' object"},
        {"{\"metadata\": {\"format\": \"6.0.0\"}, \"user_types\": {}, \"base_types\": {}, \"symbols\": {}}",
         MS_ERR_FORMAT, "metadata.windows.pdb"},
        {"{\"metadata\": {\"linux\": {}}, \"user_types\": {}, \"base_types\": {}, \"symbols\": {}}",
         MS_ERR_UNSUPPORTED, "Linux"},
        {"BZh91AY&SY", MS_ERR_UNSUPPORTED, "bzip2"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect_failure(cases[i].text, strlen(cases[i].text), cases[i].status, cases[i].needle);
    /* A gzip header, then a block of the reserved type 3. */
    static const char bad_gzip[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff\xff\xff";
    expect_failure(bad_gzip, sizeof bad_gzip - 1, MS_ERR_FORMAT, "corrupt gzip");

    /* Truncated in the middle of a real-looking ISF. */
    char *text = good_isf();
    expect_failure(text, strlen(text) / 2, MS_ERR_TRUNCATED, "truncated");
    free(text);

    /* Wrong types and absurd values in the metadata. */
    expect_template_failure("{\"pdb\": {\"GUID\": 5, \"age\": 1, \"database\": \"foo.pdb\"}}", "8", "{\"address\": 1}",
                            MS_ERR_FORMAT, "GUID of 32 hex digits");
    expect_template_failure("{\"pdb\": {\"GUID\": \"0011\", \"age\": 1, \"database\": \"foo.pdb\"}}", "8",
                            "{\"address\": 1}", MS_ERR_FORMAT, "GUID of 32 hex digits");
    expect_template_failure("{\"pdb\": {\"GUID\": \"00112233445566778899aabbccddeeff\", \"age\": -1, \"database\": "
                            "\"foo.pdb\"}}",
                            "8", "{\"address\": 1}", MS_ERR_FORMAT, "pdb.age");
    expect_template_failure("{\"pdb\": {\"GUID\": \"00112233445566778899aabbccddeeff\", \"age\": 1, \"database\": "
                            "\"a b.pdb\"}}",
                            "8", "{\"address\": 1}", MS_ERR_FORMAT, "pdb.database");
    expect_template_failure("{\"pdb\": {\"GUID\": \"00112233445566778899aabbccddeeff\", \"age\": 1, \"database\": "
                            "\"foo.pdb\", \"machine_type\": 43620}}",
                            "8", "{\"address\": 1}", MS_ERR_UNSUPPORTED, "not x86");
    /* Wrong types and absurd sizes in the types and symbols. */
    expect_template_failure(good_windows, "\"big\"", "{\"address\": 1}", MS_ERR_FORMAT, "_FOO: expected a size");
    expect_template_failure(good_windows, "1099511627776", "{\"address\": 1}", MS_ERR_FORMAT, "_FOO: expected a size");
    expect_template_failure(good_windows, "-8", "{\"address\": 1}", MS_ERR_FORMAT, "_FOO: expected a size");
    expect_template_failure(good_windows, "8", "{\"address\": \"0x10\"}", MS_ERR_FORMAT, "symbol FooGlobal");
    expect_template_failure(good_windows, "8", "{\"address\": 1.5}", MS_ERR_FORMAT, "symbol FooGlobal");
    expect_template_failure(good_windows, "8", "[1]", MS_ERR_FORMAT, "symbol FooGlobal");
    expect_template_failure(good_windows, "8", "{\"address\": 99999999999999999999999}", MS_ERR_FORMAT,
                            "invalid JSON");

    text = good_isf();
    static const char arr[] = "\"count\": 4, \"subtype\": {\"kind\": \"base\", \"name\": \"unsigned char\"}";
    static const struct {
        const char *replacement;
        ms_status status;
        const char *needle;
    } arrays[] = {
        {"\"count\": 4294967296, \"subtype\": {\"kind\": \"base\", \"name\": \"unsigned char\"}", MS_ERR_FORMAT,
         "expected a count"},
        {"\"count\": 2000000000, \"subtype\": {\"kind\": \"base\", \"name\": \"unsigned long\"}", MS_ERR_LIMIT,
         "larger than 4 GiB"},
        {"\"count\": 4, \"subtype\": 7", MS_ERR_FORMAT, "type descriptor"},
    };
    char *p = strstr(text, arr);
    assert_non_null(p);
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        size_t n = strlen(text) + 64;
        char *big = malloc(n);
        assert_non_null(big);
        snprintf(big, n, "%.*s%s%s", (int)(p - text), text, arrays[i].replacement, p + strlen(arr));
        expect_failure(big, strlen(big), arrays[i].status, arrays[i].needle);
        free(big);
    }
    p = strstr(text, "\"bit_length\": 5");
    assert_non_null(p);
    p[14] = '0';
    expect_failure(text, strlen(text), MS_ERR_FORMAT, "bit field within 64 bits");
    free(text);
}

static void limits_depth_and_size(void **state)
{
    (void)state;
    /* Deep nesting fails fast with a clear message. */
    size_t n = 100000;
    char *deep = malloc(2 * n + 64);
    assert_non_null(deep);
    size_t k = (size_t)sprintf(deep, "{\"metadata\": ");
    for (size_t i = 0; i < n; i++)
        deep[k++] = '[';
    for (size_t i = 0; i < n; i++)
        deep[k++] = ']';
    deep[k++] = '}';
    expect_failure(deep, k, MS_ERR_LIMIT, "nested deeper than 64");
    free(deep);

    /* Brackets inside strings do not count. */
    char *text = good_isf();
    char *quoted = malloc(strlen(text) + 200);
    assert_non_null(quoted);
    char brackets[101];
    memset(brackets, '[', 100);
    brackets[100] = '\0';
    char *sym = strstr(text, "\"Zed\"");
    snprintf(quoted, strlen(text) + 200, "%.*s\"%s\": {\"address\": 5}, %s", (int)(sym - text), text, brackets, sym);
    ms_isf_import *imp = NULL;
    assert_int_equal(import_text(quoted, NULL, &imp), MS_OK);
    assert_int_equal(ms_isf_import_summary(imp)->symbols, 3);
    ms_isf_import_destroy(imp);
    free(quoted);
    free(text);

    /* Too many elements. */
    size_t count = MS_ISF_MAX_VALUES + 10;
    char *many = malloc(count * 2 + 64);
    assert_non_null(many);
    k = (size_t)sprintf(many, "{\"metadata\": [");
    for (size_t i = 0; i < count; i++) {
        many[k++] = '0';
        many[k++] = ',';
    }
    k += (size_t)sprintf(many + k, "0]}");
    expect_failure(many, k, MS_ERR_LIMIT, "JSON elements");
    free(many);

    /* A gzip bomb: more than 256 MiB of output. */
    z_stream z;
    memset(&z, 0, sizeof z);
    assert_int_equal(deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t chunk = 1u << 20, cap = 1u << 20, used = 0;
    uint8_t *in = calloc(1, chunk), *out = malloc(cap);
    assert_non_null(in);
    assert_non_null(out);
    memset(in, ' ', chunk);
    for (size_t i = 0; i < 257; i++) {
        z.next_in = in;
        z.avail_in = (uInt)chunk;
        do {
            if (cap - used < 65536) {
                cap *= 2;
                out = realloc(out, cap);
                assert_non_null(out);
            }
            z.next_out = out + used;
            z.avail_out = (uInt)(cap - used);
            assert_int_not_equal(deflate(&z, i == 256 ? Z_FINISH : Z_NO_FLUSH), Z_STREAM_ERROR);
            used = cap - z.avail_out;
        } while (z.avail_out == 0);
        assert_int_equal(z.avail_in, 0);
    }
    deflateEnd(&z);
    expect_failure((const char *)out, used, MS_ERR_LIMIT, "larger than 256 MiB");
    free(in);
    free(out);
}

/* ---- the real ISFs ---- */

static const ms_profile *builtin_profile(const ms_profile_db *db, const char *module, const char *name)
{
    for (size_t i = 0; i < ms_profile_db_count(db); i++) {
        const ms_profile *p = ms_profile_db_at(db, i);
        if (strcmp(ms_profile_name(p), name) == 0 && strcmp(ms_profile_module(p), module) == 0)
            return p;
    }
    fail_msg("no built-in profile %s", name);
    return NULL;
}

static void kernel_round_trip(void **state)
{
    (void)state;
    char *path = shared_path("isf/windows/ntkrnlmp.pdb/" KERNEL_GUID "-1.json.xz");
    if (path == NULL) {
        print_message("skipped: ../shared/isf/windows/ntkrnlmp.pdb/" KERNEL_GUID "-1.json.xz is absent\n");
        skip();
    }
    ms_isf_import_options opts = {19041, NULL};
    ms_isf_import *imp = NULL;
    assert_int_equal(ms_isf_import_file(path, &opts, &imp), MS_OK);
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    assert_string_equal(s->name, "nt-19041-x64");
    assert_string_equal(s->module, "nt");
    assert_string_equal(s->pdb_name, "ntkrnlmp.pdb");
    assert_string_equal(s->guid, KERNEL_GUID);
    assert_int_equal(s->age, 1);
    assert_int_equal(s->pointer_size, 8);
    assert_int_equal(s->symbols, 39908);

    ms_profile *mine = parse_import(imp);
    ms_profile_db *db;
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    const ms_profile *ref = builtin_profile(db, "nt", "win10-19041-x64");
    assert_string_equal(ms_profile_pdb_guid(ref), KERNEL_GUID);

    size_t compared = 0;
    for (size_t i = 0; i < ref->structs.count; i++, compared++) {
        const ms_profile_entry *e = &ref->structs.entries[i];
        const ms_profile_entry *m = ms_profile_table_find(&mine->structs, e->key1, e->key2);
        if (m == NULL || m->value != e->value)
            fail_msg("struct %s: built-in 0x%llx, imported %s", e->key1, (unsigned long long)e->value,
                     m ? "differs" : "absent");
    }
    for (size_t i = 0; i < ref->fields.count; i++, compared++) {
        const ms_profile_entry *e = &ref->fields.entries[i];
        const ms_profile_entry *m = ms_profile_table_find(&mine->fields, e->key1, e->key2);
        if (m == NULL || m->value != e->value || m->bit_position != e->bit_position ||
            m->bit_length != e->bit_length)
            fail_msg("field %s.%s: built-in 0x%llx, imported %s", e->key1, e->key2, (unsigned long long)e->value,
                     m ? "differs" : "absent");
    }
    for (size_t i = 0; i < ref->symbols.count; i++, compared++) {
        const ms_profile_entry *e = &ref->symbols.entries[i];
        const ms_profile_entry *m = ms_profile_table_find(&mine->symbols, e->key1, "");
        if (m == NULL || m->value != e->value)
            fail_msg("symbol %s: built-in 0x%llx, imported %s", e->key1, (unsigned long long)e->value,
                     m ? "differs" : "absent");
    }
    for (size_t i = 0; i < ref->consts.count; i++, compared++) {
        const ms_profile_entry *e = &ref->consts.entries[i];
        const ms_profile_entry *m = ms_profile_table_find(&mine->consts, e->key1, "");
        if (m == NULL || strcmp(m->text, e->text) != 0)
            fail_msg("const %s: built-in %s, imported %s", e->key1, e->text, m ? m->text : "absent");
    }
    /* The same members, not more: the field list is derive_kernel.py's. */
    assert_int_equal(mine->structs.count, ref->structs.count);
    assert_int_equal(mine->fields.count, ref->fields.count);
    assert_true(compared >= 190);
    assert_int_equal(ms_profile_pointer_size(mine), 8);
    assert_int_equal(ms_profile_build_min(mine), 19041);
    ms_profile_destroy(mine);
    ms_isf_import_destroy(imp);

    /* Without a build: applies to the exact PDB only, no KDBG_SIZE. */
    assert_int_equal(ms_isf_import_file(path, NULL, &imp), MS_OK);
    s = ms_isf_import_summary(imp);
    assert_int_equal(s->build_min, MS_PROFILE_BUILD_PDB_ONLY);
    assert_string_equal(s->name, "nt-x64-" KERNEL_GUID "-1");
    mine = parse_import(imp);
    const char *kdbg;
    assert_int_equal(ms_profile_const(mine, "KDBG_SIZE", &kdbg), MS_ERR_NOT_FOUND);
    const ms_profile *found;
    int exact;
    assert_int_equal(ms_profile_db_add(db, mine), MS_OK);
    assert_int_equal(ms_profile_db_find(db, "nt", 8, 19041, &found, &exact), MS_OK);
    assert_string_equal(ms_profile_name(found), "win10-19041-x64");
    ms_isf_import_destroy(imp);
    ms_profile_db_destroy(db);
    free(path);
}

static void tcpip_index_line(void **state)
{
    (void)state;
    char *path = shared_path("isf/windows/tcpip.pdb/" TCPIP_GUID "-1.json.xz");
    if (path == NULL) {
        print_message("skipped: ../shared/isf/windows/tcpip.pdb/" TCPIP_GUID "-1.json.xz is absent\n");
        skip();
    }
    ms_isf_import_options opts = {19041, NULL};
    ms_isf_import *imp = NULL;
    assert_int_equal(ms_isf_import_file(path, &opts, &imp), MS_OK);
    const ms_isf_summary *s = ms_isf_import_summary(imp);
    assert_string_equal(s->module, "tcpip");
    assert_int_equal(s->build_min, MS_PROFILE_BUILD_PDB_ONLY);
    assert_true(s->build_ignored);
    assert_int_equal(s->symbols + s->skipped_names, 9320);
    const char *line = ms_isf_import_index_line(imp);
    assert_non_null(line);

    /* The same line as the built-in index. */
    const char *expected = NULL;
    size_t expected_len = 0;
    for (const ms_builtin_file *f = ms_builtin_profiles; f->path != NULL; f++) {
        if (strcmp(f->path, "tcpip/symbols.idx") != 0)
            continue;
        const char *hit = strstr(f->data, TCPIP_GUID " 1 ");
        assert_non_null(hit);
        expected = hit;
        expected_len = (size_t)(strchr(hit, '\n') - hit);
    }
    assert_non_null(expected);
    assert_int_equal(strlen(line), expected_len);
    assert_memory_equal(line, expected, expected_len);
    ms_isf_import_destroy(imp);
    free(path);
}

/* ---- the user directory ---- */

static void saves_and_loads_user_dir(void **state)
{
    (void)state;
    char *dir = temp_dir("save");
    char sub[600];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    char *text = isf_text("{\"pdb\": {\"GUID\": \"FEDCBA98765432100123456789ABCDEF\", \"age\": 3, \"database\": "
                          "\"tcpip.pdb\", \"machine_type\": 34404}}",
                          "28", "{\"address\": 4660}, \"PartitionTable\": {\"address\": 8192}, \"TcpPortPool\": "
                          "{\"address\": 12288}");
    ms_isf_import *imp = NULL;
    assert_int_equal(import_text(text, NULL, &imp), MS_OK);
    assert_string_equal(ms_isf_import_index_line(imp),
                        "FEDCBA98765432100123456789ABCDEF 3 x64 PartitionTable=0x2000 TcpPortPool=0x3000");
    char path[700];
    int unchanged = -1;
    assert_int_equal(ms_isf_import_save(imp, sub, 0, path, sizeof path, &unchanged), MS_OK);
    assert_int_equal(unchanged, 0);
    assert_int_equal(ms_isf_import_save(imp, sub, 0, path, sizeof path, &unchanged), MS_OK);
    assert_int_equal(unchanged, 1);
    ms_isf_import_destroy(imp);

    /* Another ISF of the same name: kept unless forced; the index line is replaced. */
    free(text);
    text = isf_text("{\"pdb\": {\"GUID\": \"FEDCBA98765432100123456789ABCDEF\", \"age\": 3, \"database\": "
                    "\"tcpip.pdb\", \"machine_type\": 34404}}",
                    "28", "{\"address\": 4660}, \"PartitionTable\": {\"address\": 8200}");
    assert_int_equal(import_text(text, NULL, &imp), MS_OK);
    assert_int_equal(ms_isf_import_save(imp, sub, 0, path, sizeof path, &unchanged), MS_ERR_ARG);
    assert_non_null(strstr(ms_last_error(), "--force"));
    assert_int_equal(ms_isf_import_save(imp, sub, 1, path, sizeof path, &unchanged), MS_OK);
    ms_isf_import_destroy(imp);
    char idx[700];
    snprintf(idx, sizeof idx, "%s/tcpip.idx", sub);
    char *idx_text = read_all(idx, NULL);
    assert_non_null(strstr(idx_text, "FEDCBA98765432100123456789ABCDEF 3 x64 PartitionTable=0x2008\n"));
    assert_null(strstr(idx_text, "0x2000"));
    free(idx_text);

    /* Loaded through the environment, as every run does. */
    setenv("MEMSIFT_PROFILES", sub, 1);
    char where[4096];
    assert_int_equal(ms_profile_user_dir(where, sizeof where), MS_OK);
    assert_string_equal(where, sub);
    ms_profile_db *db;
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    size_t before = ms_profile_db_count(db), idx_before = ms_profile_db_tcpip_count(db);
    assert_int_equal(ms_profile_db_add_user_dir(db), MS_OK);
    assert_int_equal(ms_profile_db_count(db), before + 1);
    assert_int_equal(ms_profile_db_tcpip_count(db), idx_before + 1);
    ms_tcpip_symbols sym;
    assert_int_equal(ms_profile_db_tcpip_symbols(db, "FEDCBA98765432100123456789ABCDEF", 3, &sym), MS_OK);
    assert_int_equal(sym.partition_table, 0x2008);
    /* A symbols-only tcpip profile never stands in for the built-in layouts. */
    const ms_profile *found;
    int exact;
    assert_int_equal(ms_profile_db_find(db, "tcpip", 8, 19041, &found, &exact), MS_OK);
    assert_string_equal(ms_profile_name(found), "win10-19041-x64");
    ms_profile_db_destroy(db);

    /* A directory that does not exist adds nothing. */
    snprintf(where, sizeof where, "%s/none", dir);
    setenv("MEMSIFT_PROFILES", where, 1);
    assert_int_equal(ms_profile_db_create(&db), MS_OK);
    assert_int_equal(ms_profile_db_add_user_dir(db), MS_OK);
    assert_int_equal(ms_profile_db_count(db), before);
    ms_profile_db_destroy(db);

    unsetenv("MEMSIFT_PROFILES");
    setenv("XDG_DATA_HOME", "/xdg", 1);
    assert_int_equal(ms_profile_user_dir(where, sizeof where), MS_OK);
    assert_string_equal(where, "/xdg/memsift/profiles");
    setenv("XDG_DATA_HOME", "relative", 1);
    setenv("HOME", "/home/analyst", 1);
    assert_int_equal(ms_profile_user_dir(where, sizeof where), MS_OK);
    assert_string_equal(where, "/home/analyst/.local/share/memsift/profiles");
    unsetenv("XDG_DATA_HOME");
    free(text);
    remove_tree(dir);
    free(dir);
}

/* ---- the C tables are copies of the Python ones ---- */

/* The quoted strings between `start` and the next line equal to `end`. */
static size_t python_strings(const char *text, const char *start, const char *end, char out[][64], size_t max)
{
    const char *p = strstr(text, start);
    assert_non_null(p);
    const char *stop = strstr(p, end);
    assert_non_null(stop);
    size_t n = 0;
    for (p += strlen(start); p < stop; p++) {
        if (*p != '"')
            continue;
        const char *q = strchr(p + 1, '"');
        assert_true(n < max && q - p - 1 < 64);
        snprintf(out[n++], 64, "%.*s", (int)(q - p - 1), p + 1);
        p = q;
    }
    return n;
}

static void tables_match_the_python_scripts(void **state)
{
    (void)state;
    char *proflib = source_path("tools/profiles/proflib.py");
    char *tcpip = source_path("tools/profiles/derive_tcpip.py");
    char *frag = source_path("tools/profiles/facts/common/kddebugger_data64.frag");
    if (proflib == NULL || tcpip == NULL || frag == NULL) {
        print_message("skipped: tools/profiles is not beside this test's source\n");
        skip();
    }
    static char py[512][64];
    char *text = read_all(proflib, NULL);
    size_t n = python_strings(text, "KERNEL_SPEC = [", "\n]\n", py, 512), k = 0;
    for (const ms_isf_spec *s = ms_isf_kernel_spec; s->type != NULL; s++) {
        assert_true(k < n);
        assert_string_equal(s->type, py[k++]);
        for (const char *const *p = s->paths; *p != NULL; p++) {
            char copy[128];
            snprintf(copy, sizeof copy, "%s", *p);
            for (char *alt = strtok(copy, "|"); alt != NULL; alt = strtok(NULL, "|")) {
                assert_true(k < n);
                assert_string_equal(alt, py[k++]);
            }
        }
    }
    assert_int_equal(k, n);
    n = python_strings(text, "KERNEL_ALL_BITS = [", "]\n", py, 512);
    for (k = 0; ms_isf_kernel_all_bits[k] != NULL; k++)
        assert_string_equal(ms_isf_kernel_all_bits[k], py[k]);
    assert_int_equal(k, n);
    /* KDBG_SIZES: every (build, size) pair. */
    const char *sizes = strstr(text, "KDBG_SIZES = [");
    assert_non_null(sizes);
    unsigned pairs = 0, build, size;
    int used;
    const char *sizes_end = strstr(sizes, "\n]\n");
    assert_non_null(sizes_end);
    for (const char *p = strchr(sizes, '('); p != NULL && p < sizes_end; p = strchr(p + 1, '(')) {
        if (sscanf(p, "(%u, %x)%n", &build, &size, &used) != 2)
            continue; /* the comment "(first build, size)" */
        assert_int_equal(ms_isf_kdbg_size(build), size);
        if (build > 2600)
            assert_int_not_equal(ms_isf_kdbg_size(build - 1), size);
        pairs++;
    }
    assert_int_equal(pairs, 8);
    free(text);

    text = read_all(tcpip, NULL);
    n = python_strings(text, "TCPIP_SYMBOLS = [", "]\n", py, 512);
    for (k = 0; ms_isf_tcpip_symbols[k] != NULL; k++)
        assert_string_equal(ms_isf_tcpip_symbols[k], py[k]);
    assert_int_equal(k, n);
    free(text);

    text = read_all(frag, NULL);
    k = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || strncmp(line, "source ", 7) == 0)
            continue;
        assert_non_null(ms_isf_kddebugger_frag[k]);
        assert_string_equal(ms_isf_kddebugger_frag[k++], line);
    }
    assert_null(ms_isf_kddebugger_frag[k]);
    free(text);
    free(proflib);
    free(tcpip);
    free(frag);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(converts_plain_gzip_and_xz),
        cmocka_unit_test(builds_names_and_versions),
        cmocka_unit_test(rejects_malformed_isf),
        cmocka_unit_test(limits_depth_and_size),
        cmocka_unit_test(kernel_round_trip),
        cmocka_unit_test(tcpip_index_line),
        cmocka_unit_test(saves_and_loads_user_dir),
        cmocka_unit_test(tables_match_the_python_scripts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
