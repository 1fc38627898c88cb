/* YARA rules: compiling (strings, files, directories, errors, the disk
 * cache), rule builders, and scanning physical images and hand-built x64
 * address spaces across chunk boundaries with one and two threads. */
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

#include "memsift/image.h"
#include "memsift/yara.h"
#include "scan/yara_internal.h"
#include "support/pagetable_builder.h"

#define KIB 1024u
#define CHUNK (64u * KIB)

static char tmpdir[512];

static int make_tmpdir(void **state)
{
    (void)state;
    const char *base = getenv("MEMSIFT_TEST_TMP");
    snprintf(tmpdir, sizeof tmpdir, "%s/yara.XXXXXX", base && base[0] ? base : "/tmp");
    return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void write_text(const char *path, const char *text)
{
    write_file(path, text, strlen(text));
}

static void path_in(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", tmpdir, name);
}

/* ---- logging collector ---- */

typedef struct log_sink {
    char text[4096];
    int warnings, notes;
} log_sink;

static void collect_log(void *user, int is_warning, const char *message)
{
    log_sink *l = user;
    if (is_warning)
        l->warnings++;
    else
        l->notes++;
    size_t used = strlen(l->text);
    snprintf(l->text + used, sizeof l->text - used, "%s\n", message);
}

static ms_status compile_string(const char *source, ms_yara_rules **out)
{
    ms_yara_compiler *c;
    ms_status st = ms_yara_compiler_create(NULL, &c);
    if (st != MS_OK)
        return st;
    st = ms_yara_compiler_add_string(c, source, "--rule 1");
    if (st == MS_OK)
        st = ms_yara_compiler_finish(c, out);
    ms_yara_compiler_destroy(c);
    return st;
}

static ms_status compile_path(const char *path, const ms_yara_compile_options *opts, ms_yara_rules **out)
{
    ms_yara_compiler *c;
    ms_status st = ms_yara_compiler_create(opts, &c);
    if (st != MS_OK)
        return st;
    st = ms_yara_compiler_add_path(c, path);
    if (st == MS_OK)
        st = ms_yara_compiler_finish(c, out);
    ms_yara_compiler_destroy(c);
    return st;
}

/* ---- matches collector ---- */

typedef struct hit {
    uint64_t address, paddr;
    uint32_t length;
    char rule[64], string_id[16];
    uint8_t context[128];
    size_t context_len, match_at, match_shown;
} hit;

typedef struct hits {
    hit items[4096];
    size_t count;
    size_t stop_after;          /* 0: never */
    char capped_rule[64];
    uint64_t capped_total, capped_max;
    uint64_t progress_done, progress_total;
} hits;

static int collect_hit(const ms_yara_match *m, void *user)
{
    hits *h = user;
    if (h->count < sizeof h->items / sizeof h->items[0]) {
        hit *x = &h->items[h->count];
        x->address = m->address;
        x->paddr = m->paddr;
        x->length = m->length;
        snprintf(x->rule, sizeof x->rule, "%s", m->rule);
        snprintf(x->string_id, sizeof x->string_id, "%s", m->string_id);
        assert_true(m->context_len <= sizeof x->context);
        memcpy(x->context, m->context, m->context_len);
        x->context_len = m->context_len;
        x->match_at = m->match_at;
        x->match_shown = m->match_shown;
    }
    h->count++;
    return h->stop_after != 0 && h->count >= h->stop_after;
}

static void on_capped(void *user, const char *rule, uint64_t total, uint64_t max_hits)
{
    hits *h = user;
    snprintf(h->capped_rule, sizeof h->capped_rule, "%s", rule);
    h->capped_total = total;
    h->capped_max = max_hits;
}

static void on_progress(void *user, uint64_t done, uint64_t total)
{
    hits *h = user;
    assert_true(done >= h->progress_done);
    h->progress_done = done;
    h->progress_total = total;
}

static void scan_options(ms_yara_scan_options *o, hits *h, unsigned threads)
{
    ms_yara_scan_options_init(o);
    o->chunk_size = CHUNK;
    o->threads = threads;
    o->capped = on_capped;
    o->progress = on_progress;
    o->user = h;
}

/* A raw image of `size` bytes of a repeating non-matching pattern. */
static uint8_t *pattern_memory(size_t size)
{
    uint8_t *mem = malloc(size);
    assert_non_null(mem);
    for (size_t i = 0; i < size; i++)
        mem[i] = (uint8_t)(0x80 + (i * 7) % 61);
    return mem;
}

static ms_image *open_raw(const char *name, const uint8_t *mem, size_t size)
{
    char path[600];
    path_in(path, sizeof path, name);
    write_file(path, mem, size);
    ms_image *image;
    assert_int_equal(ms_image_open(path, NULL, &image), MS_OK);
    return image;
}

/* ---- tests: helpers ---- */

static void test_sha256(void **state)
{
    (void)state;
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
                                    0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
                                    0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t d[32];
    ms_sha256 s;
    ms_sha256_init(&s);
    ms_sha256_update(&s, "a", 1);
    ms_sha256_update(&s, "bc", 2);
    ms_sha256_final(&s, d);
    assert_memory_equal(d, abc, 32);
    /* Two blocks: the 56-byte message of FIPS 180-2 appendix B.2. */
    static const uint8_t two[32] = {0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
                                    0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff,
                                    0x21, 0x67, 0xf6, 0xec, 0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1};
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ms_sha256_init(&s);
    ms_sha256_update(&s, msg, strlen(msg));
    ms_sha256_final(&s, d);
    assert_memory_equal(d, two, 32);
}

static void test_rule_for_text(void **state)
{
    (void)state;
    char buf[512];
    assert_int_equal(ms_yara_rule_for_text("s1", "a\"b\\c\n", 0, buf, sizeof buf), MS_OK);
    assert_string_equal(buf, "rule s1 { strings: $a = \"a\\\"b\\\\c\\x0a\" ascii wide condition: $a }");
    assert_int_equal(ms_yara_rule_for_text("s1", "Hi", 1, buf, sizeof buf), MS_OK);
    assert_string_equal(buf, "rule s1 { strings: $a = \"Hi\" ascii wide nocase condition: $a }");
    /* U+00E9 and U+1F600: UTF-8 as given, UTF-16LE (with a surrogate pair) as hex. */
    assert_int_equal(ms_yara_rule_for_text("s2", "\xc3\xa9\xf0\x9f\x98\x80", 0, buf, sizeof buf), MS_OK);
    assert_string_equal(buf, "rule s2 { strings: $a = \"\\xc3\\xa9\\xf0\\x9f\\x98\\x80\" $w = { E9 00 3D D8 00 DE } "
                             "condition: any of them }");
    assert_int_equal(ms_yara_rule_for_text("1x", "a", 0, buf, sizeof buf), MS_ERR_ARG);
    assert_int_equal(ms_yara_rule_for_text("x", "", 0, buf, sizeof buf), MS_ERR_ARG);
    assert_int_equal(ms_yara_rule_for_text("x", "abcdef", 0, buf, 20), MS_ERR_LIMIT);
}

static void test_rule_for_hex(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(ms_yara_rule_for_hex("h1", "4D 5A ?? 00 [2-4] (01|02)", buf, sizeof buf), MS_OK);
    assert_string_equal(buf, "rule h1 { strings: $a = { 4D 5A ?? 00 [2-4] (01|02) } condition: $a }");
    assert_int_equal(ms_yara_rule_for_hex("h1", "4D } condition: true } rule y { condition: true", buf, sizeof buf),
                     MS_ERR_ARG);
    assert_non_null(strstr(ms_last_error(), "'}'"));
    ms_yara_rules *rules;
    assert_int_equal(ms_yara_rule_for_hex("h1", "4D 5A 9", buf, sizeof buf), MS_OK);
    assert_int_equal(compile_string(buf, &rules), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "--rule 1, line 1: "));
}

/* ---- tests: compiling ---- */

static void test_compile_string(void **state)
{
    (void)state;
    ms_yara_rules *rules;
    assert_int_equal(compile_string("rule a { strings: $x = \"abc\" condition: $x }\n"
                                     "rule b { condition: false }",
                                     &rules),
                     MS_OK);
    assert_int_equal(ms_yara_rules_count(rules), 2);
    assert_int_equal(ms_yara_rules_from_cache(rules), 0);
    ms_yara_rules_destroy(rules);

    assert_int_equal(compile_string("rule a {\n strings: $x = \"abc\"\n condition: $y }\n", &rules), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "--rule 1, line 3: "));
    assert_non_null(strstr(ms_last_error(), "$y"));

    ms_yara_compiler *c;
    assert_int_equal(ms_yara_compiler_create(NULL, &c), MS_OK);
    assert_int_equal(ms_yara_compiler_finish(c, &rules), MS_ERR_NOT_FOUND);
    ms_yara_compiler_destroy(c);
}

static void test_compile_file_errors(void **state)
{
    (void)state;
    char path[600], bad[600], empty[600];
    ms_yara_rules *rules;
    path_in(bad, sizeof bad, "bad.yar");
    write_text(bad, "rule ok { condition: true }\n\nrule broken {\n  strings: $a = \"x\"\n  condition: $a and\n}\n");
    assert_int_equal(compile_path(bad, NULL, &rules), MS_ERR_FORMAT);
    char want[700];
    snprintf(want, sizeof want, "%s:6: ", bad);
    assert_non_null(strstr(ms_last_error(), want));

    path_in(empty, sizeof empty, "empty.yar");
    write_text(empty, "// nothing here\n/* nor here */\n");
    assert_int_equal(compile_path(empty, NULL, &rules), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "empty"));
    assert_non_null(strstr(ms_last_error(), empty));

    path_in(path, sizeof path, "missing.yar");
    assert_int_equal(compile_path(path, NULL, &rules), MS_ERR_IO);
    assert_non_null(strstr(ms_last_error(), "missing.yar"));
    assert_non_null(strstr(ms_last_error(), "No such file"));

    if (geteuid() != 0) {
        path_in(path, sizeof path, "noread.yar");
        write_text(path, "rule r { condition: true }");
        chmod(path, 0);
        assert_int_equal(compile_path(path, NULL, &rules), MS_ERR_IO);
        assert_non_null(strstr(ms_last_error(), "Permission denied"));
    }

    path_in(path, sizeof path, "compiled.yar");
    write_text(path, "YARA\x01\x02");
    assert_int_equal(compile_path(path, NULL, &rules), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "compiled YARA rule file"));

    path_in(path, sizeof path, "nul.yar");
    write_file(path, "rule a { condition: true }\0", 27);
    assert_int_equal(compile_path(path, NULL, &rules), MS_ERR_FORMAT);
    assert_non_null(strstr(ms_last_error(), "NUL"));
}

static void test_compile_directory(void **state)
{
    (void)state;
    char dir[600], path[700];
    ms_yara_rules *rules;
    path_in(dir, sizeof dir, "rules_mixed");
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/a.yar", dir);
    write_text(path, "rule same { strings: $a = \"AAAA\" condition: $a }");
    /* The same rule name in another file: separate namespaces. */
    snprintf(path, sizeof path, "%s/b.YARA", dir);
    write_text(path, "rule same { strings: $b = \"BBBB\" condition: $b }\nrule other { condition: false }");
    snprintf(path, sizeof path, "%s/c.yar", dir);
    write_text(path, "rule c {\n condition: nosuchthing\n}");
    snprintf(path, sizeof path, "%s/notes.txt", dir);
    write_text(path, "not a rule file {");
    snprintf(path, sizeof path, "%s/.hidden.yar", dir);
    write_text(path, "broken {");

    assert_int_equal(compile_path(dir, NULL, &rules), MS_ERR_FORMAT);
    char want[700];
    snprintf(want, sizeof want, "%s/c.yar:2: ", dir);
    assert_non_null(strstr(ms_last_error(), want));

    ms_yara_compile_options o;
    ms_yara_compile_options_init(&o);
    log_sink log = {"", 0, 0};
    o.skip_bad_files = 1;
    o.log = collect_log;
    o.log_user = &log;
    assert_int_equal(compile_path(dir, &o, &rules), MS_OK);
    assert_int_equal(ms_yara_rules_count(rules), 3);
    assert_int_equal(log.warnings, 1);
    assert_non_null(strstr(log.text, "skipping "));
    assert_non_null(strstr(log.text, want));
    ms_yara_rules_destroy(rules);

    /* Only bad files: nothing left. */
    snprintf(dir, sizeof dir, "%s/rules_bad", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(path, sizeof path, "%s/x.yar", dir);
    write_text(path, "rule {");
    assert_int_equal(compile_path(dir, &o, &rules), MS_ERR_NOT_FOUND);

    snprintf(dir, sizeof dir, "%s/rules_none", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(compile_path(dir, NULL, &rules), MS_ERR_NOT_FOUND);
    assert_non_null(strstr(ms_last_error(), "no *.yar or *.yara files"));
}

static void test_compile_cache(void **state)
{
    (void)state;
    char cache[600], file[600];
    path_in(cache, sizeof cache, "cache/sub");
    path_in(file, sizeof file, "cached.yar");
    write_text(file, "rule cached { strings: $a = \"CACHEME\" condition: $a }");
    ms_yara_compile_options o;
    ms_yara_compile_options_init(&o);
    log_sink log = {"", 0, 0};
    o.cache_dir = cache;
    o.log = collect_log;
    o.log_user = &log;

    ms_yara_rules *rules;
    assert_int_equal(compile_path(file, &o, &rules), MS_OK);
    assert_int_equal(ms_yara_rules_from_cache(rules), 0);
    ms_yara_rules_destroy(rules);
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    assert_int_equal(compile_path(file, &o, &rules), MS_OK);
    assert_int_equal(ms_yara_rules_from_cache(rules), 1);
    assert_int_equal(ms_yara_rules_count(rules), 1);

    /* The cached rules scan like compiled ones. */
    uint8_t *mem = pattern_memory(64 * KIB);
    memcpy(mem + 1000, "CACHEME", 7);
    ms_image *image = open_raw("cache.raw", mem, 64 * KIB);
    hits *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(ms_yara_scan_physical(rules, image, NULL, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->items[0].address, 1000);
    ms_yara_rules_destroy(rules);

    /* A changed source is a different key. */
    write_text(file, "rule cached { strings: $a = \"CACHEME\" condition: $a }\nrule two { condition: false }");
    assert_int_equal(compile_path(file, &o, &rules), MS_OK);
    assert_int_equal(ms_yara_rules_from_cache(rules), 0);
    assert_int_equal(ms_yara_rules_count(rules), 2);
    ms_yara_rules_destroy(rules);

    /* A damaged cache file is noted and replaced. */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "for f in '%s'/yara-*.yarc; do printf 'YARA garbage' > \"$f\"; done", cache);
    assert_int_equal(system(cmd), 0);
    log.text[0] = '\0';
    assert_int_equal(compile_path(file, &o, &rules), MS_OK);
    assert_int_equal(ms_yara_rules_from_cache(rules), 0);
    assert_non_null(strstr(log.text, "unusable"));
    ms_yara_rules_destroy(rules);
    assert_int_equal(compile_path(file, &o, &rules), MS_OK);
    assert_int_equal(ms_yara_rules_from_cache(rules), 1);
    ms_yara_rules_destroy(rules);

    ms_image_close(image);
    free(mem);
    free(h);
}

/* ---- tests: scanning ---- */

#define IMAGE_SIZE (3u << 20)

/* A marker straddles every chunk boundary; with one and two threads each
 * is reported once, in address order, with its context. */
static void scan_boundaries(unsigned threads, hits *h)
{
    uint8_t *mem = pattern_memory(IMAGE_SIZE);
    for (uint64_t b = CHUNK; b < IMAGE_SIZE; b += CHUNK)
        memcpy(mem + b - 5, "XBOUNDARYX", 10);
    memcpy(mem, "XBOUNDARYX", 10);
    memcpy(mem + IMAGE_SIZE - 10, "XBOUNDARYX", 10);
    ms_image *image = open_raw("bounds.raw", mem, IMAGE_SIZE);
    ms_yara_rules *rules;
    assert_int_equal(compile_string("rule b { strings: $m = \"XBOUNDARYX\" condition: $m }", &rules), MS_OK);
    ms_yara_scan_options o;
    scan_options(&o, h, threads);
    assert_int_equal(ms_yara_scan_physical(rules, image, &o, collect_hit, h), MS_OK);
    ms_yara_rules_destroy(rules);
    ms_image_close(image);

    size_t want = IMAGE_SIZE / CHUNK + 1;
    assert_int_equal(h->count, want);
    assert_int_equal(h->items[0].address, 0);
    assert_int_equal(h->items[0].match_at, 0);
    assert_int_equal(h->items[0].context_len, 10 + MS_YARA_CONTEXT);
    for (size_t i = 1; i + 1 < want; i++) {
        hit *x = &h->items[i];
        assert_int_equal(x->address, i * CHUNK - 5);
        assert_int_equal(x->paddr, x->address);
        assert_int_equal(x->length, 10);
        assert_string_equal(x->rule, "b");
        assert_string_equal(x->string_id, "$m");
        assert_int_equal(x->match_at, MS_YARA_CONTEXT);
        assert_int_equal(x->match_shown, 10);
        assert_int_equal(x->context_len, 10 + 2 * MS_YARA_CONTEXT);
        assert_memory_equal(x->context + MS_YARA_CONTEXT, "XBOUNDARYX", 10);
        assert_memory_equal(x->context, mem + x->address - MS_YARA_CONTEXT, x->context_len);
    }
    assert_int_equal(h->items[want - 1].address, IMAGE_SIZE - 10);
    assert_int_equal(h->items[want - 1].context_len, MS_YARA_CONTEXT + 10);
    assert_int_equal(h->progress_done, IMAGE_SIZE);
    assert_int_equal(h->progress_total, IMAGE_SIZE);
    free(mem);
}

static void test_scan_boundaries(void **state)
{
    (void)state;
    hits *one = calloc(1, sizeof *one), *two = calloc(1, sizeof *two);
    assert_non_null(one);
    assert_non_null(two);
    scan_boundaries(1, one);
    scan_boundaries(2, two);
    assert_int_equal(one->count, two->count);
    for (size_t i = 0; i < one->count; i++)
        assert_int_equal(one->items[i].address, two->items[i].address);
    free(one);
    free(two);
}

/* Several rules and strings at one address come out in rule, then string
 * order; a string longer than the overlap still crosses a boundary. */
static void test_scan_order_and_long_strings(void **state)
{
    (void)state;
    uint8_t *mem = pattern_memory(IMAGE_SIZE);
    memcpy(mem + 3 * CHUNK - 2, "ABCDEFGH", 8);
    char longstr[5001];
    for (int i = 0; i < 5000; i++)
        longstr[i] = (char)('a' + i % 26);
    longstr[5000] = '\0';
    memcpy(mem + 5 * CHUNK - 2500, longstr, 5000);
    ms_image *image = open_raw("order.raw", mem, IMAGE_SIZE);
    char *src = malloc(6000);
    assert_non_null(src);
    snprintf(src, 6000,
             "rule first { strings: $x = \"ABCD\" $y = \"ABC\" condition: any of them }\n"
             "rule second { strings: $z = \"ABCDEFGH\" condition: $z }\n"
             "rule longest { strings: $l = \"%s\" condition: $l }",
             longstr);
    ms_yara_rules *rules;
    assert_int_equal(compile_string(src, &rules), MS_OK);
    free(src);
    hits *h = calloc(1, sizeof *h);
    assert_non_null(h);
    ms_yara_scan_options o;
    scan_options(&o, h, 2);
    assert_int_equal(ms_yara_scan_physical(rules, image, &o, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 4);
    assert_string_equal(h->items[0].rule, "first");
    assert_string_equal(h->items[0].string_id, "$x");
    assert_string_equal(h->items[1].rule, "first");
    assert_string_equal(h->items[1].string_id, "$y");
    assert_string_equal(h->items[2].rule, "second");
    for (int i = 0; i < 3; i++)
        assert_int_equal(h->items[i].address, 3 * CHUNK - 2);
    assert_string_equal(h->items[3].rule, "longest");
    assert_int_equal(h->items[3].address, 5 * CHUNK - 2500);
    assert_int_equal(h->items[3].length, 5000);
    assert_int_equal(h->items[3].match_shown, MS_YARA_MATCH_SHOWN);
    assert_int_equal(h->items[3].context_len, MS_YARA_CONTEXT + MS_YARA_MATCH_SHOWN);
    ms_yara_rules_destroy(rules);
    ms_image_close(image);
    free(mem);
    free(h);
}

static void test_scan_cap_and_stop(void **state)
{
    (void)state;
    uint8_t *mem = pattern_memory(IMAGE_SIZE);
    for (int i = 0; i < 50; i++)
        memcpy(mem + 10000 + (size_t)i * 40000, "OFTEN", 5);
    ms_image *image = open_raw("cap.raw", mem, IMAGE_SIZE);
    ms_yara_rules *rules;
    assert_int_equal(compile_string("rule often { strings: $o = \"OFTEN\" condition: $o }", &rules), MS_OK);
    hits *h = calloc(1, sizeof *h);
    assert_non_null(h);
    ms_yara_scan_options o;
    scan_options(&o, h, 2);
    o.max_hits = 10;
    assert_int_equal(ms_yara_scan_physical(rules, image, &o, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(h->items[i].address, 10000 + (uint64_t)i * 40000);
    assert_string_equal(h->capped_rule, "often");
    assert_int_equal(h->capped_total, 50);
    assert_int_equal(h->capped_max, 10);

    memset(h, 0, sizeof *h);
    scan_options(&o, h, 2);
    o.max_hits = 0;
    assert_int_equal(ms_yara_scan_physical(rules, image, &o, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 50);
    assert_string_equal(h->capped_rule, "");

    memset(h, 0, sizeof *h);
    scan_options(&o, h, 2);
    h->stop_after = 3;
    assert_int_equal(ms_yara_scan_physical(rules, image, &o, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 3);
    ms_yara_rules_destroy(rules);
    ms_image_close(image);
    free(mem);
    free(h);
}

static void test_scan_regions(void **state)
{
    (void)state;
    uint8_t *mem = pattern_memory(256 * KIB);
    memcpy(mem + 0x10000 - 3, "JOINED", 6);
    memcpy(mem + 0x30000 - 3, "SPLITX", 6);
    ms_image *image = open_raw("regions.raw", mem, 256 * KIB);
    ms_yara_rules *rules;
    assert_int_equal(compile_string("rule j { strings: $a = \"JOINED\" $b = \"SPLITX\" condition: any of them }",
                                    &rules),
                     MS_OK);
    /* Address 0x1000.. is held at physical 0x0f000..; the next region
     * continues the address at another physical place.  The third region
     * leaves a gap in address, so SPLITX is cut in two and not found. */
    ms_yara_region regions[] = {
        {0x100000, 0x0f000, 0x1000},
        {0x101000, 0x10000, 0x1000},
        {0x200000, 0x2f000, 0x1000},
        {0x202000, 0x30000, 0x1000},
    };
    hits *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(ms_yara_scan_regions(rules, image, regions, 4, NULL, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->items[0].address, 0x101000 - 3);
    assert_int_equal(h->items[0].paddr, 0x10000 - 3);

    ms_yara_region overlapping[] = {{0x1000, 0, 0x2000}, {0x2000, 0x4000, 0x1000}};
    assert_int_equal(ms_yara_scan_regions(rules, image, overlapping, 2, NULL, collect_hit, h), MS_ERR_ARG);
    ms_yara_region wrapping[] = {{UINT64_MAX - 10, 0, 0x1000}};
    assert_int_equal(ms_yara_scan_regions(rules, image, wrapping, 1, NULL, collect_hit, h), MS_ERR_ARG);
    assert_int_equal(ms_yara_scan_regions(rules, image, NULL, 0, NULL, collect_hit, h), MS_OK);
    ms_yara_rules_destroy(rules);
    ms_image_close(image);
    free(mem);
    free(h);
}

/* A hand-built x64 address space: virtually contiguous pages held at
 * scattered physical pages, and one page mapped outside the image. */
static void test_scan_vspace(void **state)
{
    (void)state;
    ptb b;
    assert_int_equal(ptb_init(&b, MS_PAGING_X64, 1u << 20), 0);
    uint64_t p1 = ptb_alloc(&b), p2 = ptb_alloc(&b), p3 = ptb_alloc(&b), p4 = ptb_alloc(&b);
    /* User pages 0x7ff000000000.. map p3, p1; the kernel page maps p2. */
    ptb_map(&b, 0x7ff000000000ull, p3);
    ptb_map(&b, 0x7ff000001000ull, p1);
    ptb_map(&b, 0x7ff000002000ull, 0x40000000ull);   /* beyond the image */
    ptb_map(&b, 0xfffff80000000000ull, p2);
    memcpy(b.mem + p3 + 4096 - 4, "ACRO", 4);
    memcpy(b.mem + p1, "SSPAGES", 7);
    memcpy(b.mem + p2 + 100, "KERNELONLY", 10);
    memcpy(b.mem + p4 + 200, "ACROSSPAGES", 11);   /* unmapped copy: physical only */
    ms_image *image;
    assert_int_equal(ptb_open(&b, &image), 0);
    ms_vspace *vs;
    assert_int_equal(ms_vspace_create(image, MS_PAGING_X64, b.root, &vs), MS_OK);

    ms_yara_region *regions;
    size_t count;
    assert_int_equal(ms_yara_vspace_regions(vs, 0, 0x800000000000ull, 0, &regions, &count), MS_OK);
    assert_int_equal(count, 2);
    assert_int_equal(regions[0].address, 0x7ff000000000ull);
    assert_int_equal(regions[0].paddr, p3);
    assert_int_equal(regions[1].address, 0x7ff000001000ull);
    assert_int_equal(regions[1].paddr, p1);
    free(regions);

    ms_yara_rules *rules;
    assert_int_equal(compile_string("rule v { strings: $a = \"ACROSSPAGES\" $k = \"KERNELONLY\" "
                                    "condition: any of them }",
                                    &rules),
                     MS_OK);
    hits *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(ms_yara_scan_vspace(rules, vs, 0, 0x800000000000ull, NULL, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->items[0].address, 0x7ff000000ffcull);
    assert_int_equal(h->items[0].paddr, p3 + 4096 - 4);
    assert_string_equal(h->items[0].string_id, "$a");

    memset(h, 0, sizeof *h);
    assert_int_equal(ms_yara_scan_vspace(rules, vs, 0xffff800000000000ull, UINT64_MAX, NULL, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 1);
    assert_int_equal(h->items[0].address, 0xfffff80000000064ull);
    assert_int_equal(h->items[0].paddr, p2 + 100);

    memset(h, 0, sizeof *h);
    assert_int_equal(ms_yara_scan_physical(rules, image, NULL, collect_hit, h), MS_OK);
    assert_int_equal(h->count, 2);
    assert_int_equal(h->items[0].address, p2 + 100);
    assert_int_equal(h->items[1].address, p4 + 200);

    ms_yara_rules_destroy(rules);
    ms_vspace_destroy(vs);
    ptb_free(&b);
    free(h);
}

/* Compressed images are read under a lock; the answer is the same. */
static void test_scan_gzip(void **state)
{
    (void)state;
    uint8_t *mem = pattern_memory(IMAGE_SIZE);
    for (uint64_t b = CHUNK; b < IMAGE_SIZE; b += 7 * CHUNK)
        memcpy(mem + b - 2, "GZMARK", 6);
    char path[600], cmd[1400];
    path_in(path, sizeof path, "gz.raw");
    write_file(path, mem, IMAGE_SIZE);
    snprintf(cmd, sizeof cmd, "gzip -f '%s'", path);
    if (system(cmd) != 0) {
        free(mem);
        skip();
    }
    strcat(path, ".gz");
    ms_image *image;
    ms_image_options io;
    ms_image_options_init(&io);
    io.gzip_cache_index = 0;
    assert_int_equal(ms_image_open(path, &io, &image), MS_OK);
    ms_yara_rules *rules;
    assert_int_equal(compile_string("rule g { strings: $g = \"GZMARK\" condition: $g }", &rules), MS_OK);
    hits *h = calloc(1, sizeof *h);
    assert_non_null(h);
    ms_yara_scan_options o;
    scan_options(&o, h, 2);
    assert_int_equal(ms_yara_scan_physical(rules, image, &o, collect_hit, h), MS_OK);
    size_t n = 0;
    for (uint64_t b = CHUNK; b < IMAGE_SIZE; b += 7 * CHUNK, n++)
        assert_int_equal(h->items[n].address, b - 2);
    assert_int_equal(h->count, n);
    ms_yara_rules_destroy(rules);
    ms_image_close(image);
    free(mem);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_rule_for_text),
        cmocka_unit_test(test_rule_for_hex),
        cmocka_unit_test(test_compile_string),
        cmocka_unit_test(test_compile_file_errors),
        cmocka_unit_test(test_compile_directory),
        cmocka_unit_test(test_compile_cache),
        cmocka_unit_test(test_scan_boundaries),
        cmocka_unit_test(test_scan_order_and_long_strings),
        cmocka_unit_test(test_scan_cap_and_stop),
        cmocka_unit_test(test_scan_regions),
        cmocka_unit_test(test_scan_vspace),
        cmocka_unit_test(test_scan_gzip),
    };
    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
