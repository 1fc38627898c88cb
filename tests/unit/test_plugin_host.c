/* The plugin host: requirement checks, option validation and accessors,
 * emit/log/progress, the renderer's begin/end around run(); and the info
 * plugin through it, on images built by support/crashdump_builder.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "memsift/memsift.h"
#include "registry.h"
#include "support/crashdump_builder.h"

/* ---- a tiny plugin ---- */

typedef struct probe {
    int calls;
    int verbose;
    const char *name;
    const char *tag0, *tag1, *tag2;
    ms_status pid_status;
    int64_t pid;
    ms_status missing_status;
    const ms_plugin *self;
    ms_image *image;
    int fail_after;          /* rows to emit before failing; -1 never */
    int rows;
} probe;

static probe P;

static const ms_option_spec probe_options[] = {
    {"pid", MS_OPT_INT, "PID", "only this process"},
    {"name", MS_OPT_STRING, "NAME", "a name"},
    {"tag", MS_OPT_STRING, "TAG", "repeatable"},
    {"verbose", MS_OPT_FLAG, NULL, "more"},
};

static const ms_column probe_columns[] = {{"PID", MS_VT_UINT, 0}, {"Name", MS_VT_STR, 0}};

static ms_status probe_run(ms_plugin_context *ctx)
{
    P.calls++;
    P.self = ms_plugin_self(ctx);
    P.image = ms_plugin_image(ctx);
    P.verbose = ms_plugin_flag(ctx, "verbose");
    P.name = ms_plugin_string(ctx, "name");
    P.tag0 = ms_plugin_string_at(ctx, "tag", 0);
    P.tag1 = ms_plugin_string_at(ctx, "tag", 1);
    P.tag2 = ms_plugin_string_at(ctx, "tag", 2);
    P.pid_status = ms_plugin_int(ctx, "pid", &P.pid);
    int64_t unused;
    P.missing_status = ms_plugin_int(ctx, "nothing", &unused);
    ms_plugin_log(ctx, MS_LOG_WARNING, "found %d things in %s", 3, "memory");
    ms_plugin_progress(ctx, 5, 10);
    for (int i = 0; i < P.rows; i++) {
        if (i == P.fail_after)
            return ms_fail(MS_ERR_FORMAT, "probe broke at row %d", i);
        ms_value row[2] = {ms_val_uint((uint64_t)i + 4), ms_val_str(i == 0 ? "System" : "smss.exe")};
        ms_status st = ms_plugin_emit(ctx, row);
        if (st != MS_OK)
            return st;
    }
    if (P.fail_after >= 0 && P.fail_after >= P.rows)
        return ms_fail(MS_ERR_NOT_FOUND, "probe found nothing");
    return MS_OK;
}

static ms_plugin probe_plugin = {
    "probe", NULL, "probe", "probe", probe_options, 4, probe_columns, 2, 0, probe_run,
};

/* ---- host sinks ---- */

typedef struct sinks {
    int logs;
    ms_log_level level;
    char message[256];
    int progress_calls;
    uint64_t done, total;
} sinks;

static void log_sink(void *user, ms_log_level level, const char *message)
{
    sinks *s = user;
    s->logs++;
    s->level = level;
    snprintf(s->message, sizeof s->message, "%s", message);
}

static void progress_sink(void *user, uint64_t done, uint64_t total)
{
    sinks *s = user;
    s->progress_calls++;
    s->done = done;
    s->total = total;
}

/* ---- images ---- */

static ms_image *open_bytes(const uint8_t *buf, size_t len)
{
    char path[512];
    assert_int_equal(cdb_write_temp(buf, len, path, sizeof path), 0);
    ms_image *img = NULL;
    ms_status st = ms_image_open(path, NULL, &img);
    unlink(path);
    if (st != MS_OK)
        fail_msg("ms_image_open: %s", ms_last_error());
    return img;
}

static ms_image *open_raw(void)
{
    uint8_t buf[0x3000];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 13 + 1);
    return open_bytes(buf, sizeof buf);
}

static ms_image *open_dump(const cdb_spec *spec)
{
    uint8_t *buf;
    size_t len;
    assert_int_equal(cdb_build(spec, &buf, &len), 0);
    ms_image *img = open_bytes(buf, len);
    free(buf);
    return img;
}

static const cdb_run two_runs[] = {{1, 2}, {0x10, 1}};

/* ---- running ---- */

typedef struct result {
    ms_status status;
    char error[512];
    char *output;
    sinks sinks;
} result;

static void run_with(const ms_plugin *plugin, ms_image *img, ms_render_format format, const ms_option_value *opts,
                     size_t nopts, result *res)
{
    memset(res, 0, sizeof *res);
    size_t len = 0;
    FILE *out = open_memstream(&res->output, &len);
    assert_non_null(out);
    ms_renderer *r;
    assert_int_equal(ms_renderer_create(format, out, &r), MS_OK);
    ms_plugin_host host = {img, r, log_sink, progress_sink, &res->sinks, NULL};
    res->status = ms_plugin_execute(plugin, &host, opts, nopts);
    snprintf(res->error, sizeof res->error, "%s", ms_last_error());
    ms_renderer_destroy(r);
    fclose(out);
}

static void reset_probe(int rows, int fail_after)
{
    memset(&P, 0, sizeof P);
    P.rows = rows;
    P.fail_after = fail_after;
    probe_plugin.requirements = 0;
}

static void test_run_on_raw_image(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    reset_probe(2, -1);
    probe_plugin.requirements = MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86;
    result res;
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    assert_int_equal(P.calls, 1);
    assert_ptr_equal(P.self, &probe_plugin);
    assert_ptr_equal(P.image, img);
    assert_string_equal(res.output,
                        "PID     Name\n"
                        "------  ------------\n"
                        "4       System\n"
                        "5       smss.exe\n");
    assert_int_equal(res.sinks.logs, 1);
    assert_int_equal(res.sinks.level, MS_LOG_WARNING);
    assert_string_equal(res.sinks.message, "found 3 things in memory");
    assert_int_equal(res.sinks.progress_calls, 1);
    assert_int_equal(res.sinks.done, 5);
    assert_int_equal(res.sinks.total, 10);
    free(res.output);
    ms_image_close(img);
}

static void test_no_rows_still_renders_document(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    reset_probe(0, -1);
    result res;
    run_with(&probe_plugin, img, MS_RENDER_JSON, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    assert_string_equal(res.output, "[]\n");
    free(res.output);
    run_with(&probe_plugin, img, MS_RENDER_CSV, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    assert_string_equal(res.output, "PID,Name\r\n");
    free(res.output);
    ms_image_close(img);
}

static void test_failure_keeps_message_and_closes_document(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    reset_probe(3, 1);
    result res;
    run_with(&probe_plugin, img, MS_RENDER_JSON, NULL, 0, &res);
    assert_int_equal(res.status, MS_ERR_FORMAT);
    assert_string_equal(res.error, "probe broke at row 1");
    assert_string_equal(res.output, "[\n  {\n    \"PID\": 4,\n    \"Name\": \"System\",\n    \"__children\": []\n  }\n]\n");
    free(res.output);

    /* Failing before any row renders nothing at all. */
    reset_probe(0, 0);
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_ERR_NOT_FOUND);
    assert_string_equal(res.error, "probe found nothing");
    assert_string_equal(res.output, "");
    free(res.output);
    ms_image_close(img);
}

static void test_options(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    const ms_option_value opts[] = {
        {"pid", "17"}, {"tag", "a"}, {"name", "first"}, {"verbose", "1"}, {"tag", "b"}, {"name", "last"},
    };
    reset_probe(0, -1);
    result res;
    run_with(&probe_plugin, img, MS_RENDER_TEXT, opts, 6, &res);
    assert_int_equal(res.status, MS_OK);
    assert_int_equal(P.verbose, 1);
    assert_string_equal(P.name, "last");
    assert_string_equal(P.tag0, "a");
    assert_string_equal(P.tag1, "b");
    assert_null(P.tag2);
    assert_int_equal(P.pid_status, MS_OK);
    assert_int_equal(P.pid, 17);
    assert_int_equal(P.missing_status, MS_ERR_NOT_FOUND);
    free(res.output);

    /* Absent options. */
    reset_probe(0, -1);
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(P.verbose, 0);
    assert_null(P.name);
    assert_null(P.tag0);
    assert_int_equal(P.pid_status, MS_ERR_NOT_FOUND);
    free(res.output);

    /* Hex, negative, and a 64-bit kernel address as its bit pattern. */
    const struct {
        const char *text;
        int64_t value;
    } ints[] = {{"0x1f", 31}, {"-4", -4}, {"0XFFFFF8047C61E200", (int64_t)0xfffff8047c61e200ull}, {"0", 0}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        ms_option_value o = {"pid", ints[i].text};
        reset_probe(0, -1);
        run_with(&probe_plugin, img, MS_RENDER_TEXT, &o, 1, &res);
        assert_int_equal(res.status, MS_OK);
        assert_int_equal(P.pid, ints[i].value);
        free(res.output);
    }
    ms_image_close(img);
}

static void test_bad_options(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    const struct {
        ms_option_value opt;
        const char *message;
    } bad[] = {
        {{"bogus", "1"}, "probe has no option --bogus"},
        {{"pid", "12abc"}, "option --pid of probe expects a number (decimal or 0x-hex), found '12abc'"},
        {{"pid", "0x"}, "option --pid of probe expects a number (decimal or 0x-hex), found '0x'"},
        {{"pid", ""}, "option --pid of probe expects a number (decimal or 0x-hex), found ''"},
        {{"pid", "99999999999999999999"},
         "option --pid of probe expects a number (decimal or 0x-hex), found '99999999999999999999'"},
        {{"pid", "0x10000000000000000"},
         "option --pid of probe expects a number (decimal or 0x-hex), found '0x10000000000000000'"},
        {{"name", NULL}, "option --name of probe needs a value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        reset_probe(1, -1);
        result res;
        run_with(&probe_plugin, img, MS_RENDER_JSON, &bad[i].opt, 1, &res);
        assert_int_equal(res.status, MS_ERR_ARG);
        assert_string_equal(res.error, bad[i].message);
        assert_int_equal(P.calls, 0);
        assert_string_equal(res.output, "");
        free(res.output);
    }
    ms_image_close(img);
}

static void test_needs_memory(void **state)
{
    (void)state;
    cdb_spec spec;
    cdb_spec_init(&spec, 1, 4);
    ms_image *img = open_dump(&spec);
    assert_int_equal(ms_image_get_info(img)->has_physical_memory, 0);
    reset_probe(1, -1);
    probe_plugin.requirements = MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86;
    result res;
    run_with(&probe_plugin, img, MS_RENDER_JSON, NULL, 0, &res);
    assert_int_equal(res.status, MS_ERR_UNSUPPORTED);
    assert_string_equal(res.error, "probe needs physical memory, but this is a triage dump (DumpType 4): it holds "
                                   "only the dump header, the module list and a few memory blocks");
    assert_int_equal(P.calls, 0);
    assert_string_equal(res.output, "");
    free(res.output);

    /* Without the requirement the same plugin runs. */
    probe_plugin.requirements = MS_PLUGIN_NEEDS_X86;
    run_with(&probe_plugin, img, MS_RENDER_JSONL, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    assert_string_equal(res.output, "{\"PID\": 4, \"Name\": \"System\"}\n");
    free(res.output);
    ms_image_close(img);

    cdb_spec_init(&spec, 0, 3);
    img = open_dump(&spec);
    probe_plugin.requirements = MS_PLUGIN_NEEDS_MEMORY;
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_ERR_UNSUPPORTED);
    assert_string_equal(res.error, "probe needs physical memory, but this is a header-only dump (DumpType 3): it "
                                   "holds only the dump header");
    free(res.output);
    ms_image_close(img);
}

static void test_needs_x86(void **state)
{
    (void)state;
    cdb_spec spec;
    cdb_spec_init(&spec, 1, 1);
    spec.machine_type = MS_MACHINE_ARM64;
    spec.runs = two_runs;
    spec.run_count = 2;
    ms_image *img = open_dump(&spec);
    assert_int_equal(ms_image_get_info(img)->has_physical_memory, 1);
    reset_probe(1, -1);
    probe_plugin.requirements = MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86;
    result res;
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_ERR_UNSUPPORTED);
    assert_string_equal(res.error, "probe supports x86 and x64 Windows; this dump is from an ARM64 machine");
    assert_int_equal(P.calls, 0);
    free(res.output);

    probe_plugin.requirements = MS_PLUGIN_NEEDS_MEMORY;
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    assert_int_equal(P.calls, 1);
    free(res.output);
    ms_image_close(img);

    /* x86 and x64 dumps pass. */
    cdb_spec_init(&spec, 0, 1);
    spec.runs = two_runs;
    spec.run_count = 2;
    img = open_dump(&spec);
    reset_probe(0, -1);
    probe_plugin.requirements = MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86;
    run_with(&probe_plugin, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    free(res.output);
    ms_image_close(img);
}

static void test_bad_host(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    ms_plugin_host host = {img, NULL, NULL, NULL, NULL, NULL};
    assert_int_equal(ms_plugin_execute(&probe_plugin, &host, NULL, 0), MS_ERR_ARG);
    assert_int_equal(ms_plugin_execute(NULL, &host, NULL, 0), MS_ERR_ARG);

    /* No log or progress sink: the plugin still runs. */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    ms_renderer *r;
    assert_int_equal(ms_renderer_create(MS_RENDER_CSV, out, &r), MS_OK);
    host.renderer = r;
    reset_probe(1, -1);
    assert_int_equal(ms_plugin_execute(&probe_plugin, &host, NULL, 0), MS_OK);
    ms_renderer_destroy(r);
    fclose(out);
    assert_string_equal(text, "PID,Name\r\n4,System\r\n");
    free(text);
    ms_image_close(img);
}

/* ---- the registry and the info plugin ---- */

static void test_registry(void **state)
{
    (void)state;
    assert_ptr_equal(ms_registry_find("info"), &ms_plugin_info);
    assert_ptr_equal(ms_registry_find("windows.info"), &ms_plugin_info);
    assert_ptr_equal(ms_registry_find("windows.info.Info"), &ms_plugin_info);
    assert_ptr_equal(ms_registry_find("windows.netscan"), &ms_plugin_netscan);
    assert_null(ms_registry_find("Info"));
    assert_null(ms_registry_find(""));
    size_t count;
    const ms_plugin *const *all = ms_registry_plugins(&count);
    assert_true(count >= 10);
    for (size_t i = 0; i < count; i++) {
        assert_ptr_equal(ms_registry_find(all[i]->name), all[i]);
        assert_non_null(all[i]->summary);
        assert_non_null(all[i]->run);
    }
    assert_int_equal(ms_plugin_yarascan.requirements, MS_PLUGIN_NEEDS_MEMORY);
}

/* The value of `variable` in JSONL output of info, or NULL. */
static const char *info_value(const char *jsonl, const char *variable, char *buf, size_t size)
{
    char key[128];
    snprintf(key, sizeof key, "{\"Variable\": \"%s\", \"Value\": \"", variable);
    const char *p = strstr(jsonl, key);
    if (p == NULL)
        return NULL;
    p += strlen(key);
    const char *end = strstr(p, "\"}\n");
    assert_non_null(end);
    snprintf(buf, size, "%.*s", (int)(end - p), p);
    return buf;
}

static void expect_info(const char *jsonl, const char *variable, const char *value)
{
    char buf[256];
    const char *got = info_value(jsonl, variable, buf, sizeof buf);
    if (got == NULL)
        fail_msg("info has no row '%s' in:\n%s", variable, jsonl);
    assert_string_equal(got, value);
}

static void test_info_x86_pae_dump(void **state)
{
    (void)state;
    cdb_spec spec;
    cdb_spec_init(&spec, 0, 1);
    spec.runs = two_runs;
    spec.run_count = 2;
    spec.bugcheck_code = 0xe2;
    spec.system_time = 132583451020000000ull;
    spec.system_uptime = (2ull * 86400 + 3 * 3600 + 4 * 60 + 5) * 10000000ull;
    spec.attributes_set = 1;
    spec.attributes = 0x9;
    spec.comment = "hello";
    spec.product_type = 3;
    ms_image *img = open_dump(&spec);
    result res;
    run_with(&ms_plugin_info, img, MS_RENDER_JSONL, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    expect_info(res.output, "Image format", "crash dump (32-bit)");
    expect_info(res.output, "Dump type", "full (DumpType 1)");
    expect_info(res.output, "Machine", "I386 (0x014c)");
    expect_info(res.output, "Paging mode", "x86 PAE");
    expect_info(res.output, "DTB", "0x39000");
    expect_info(res.output, "NT build", "2600");
    expect_info(res.output, "NT major version", "0xf (free build)");
    expect_info(res.output, "Processors", "2");
    expect_info(res.output, "Bugcheck code", "0x000000e2");
    expect_info(res.output, "Bugcheck parameter 1", "0x11");
    expect_info(res.output, "Bugcheck parameter 4", "0x44");
    expect_info(res.output, "System time", "2021-02-21 01:38:22 UTC");
    expect_info(res.output, "System uptime", "2 days, 03:04:05");
    expect_info(res.output, "PsActiveProcessHead", "0x80560bd8");
    expect_info(res.output, "PsLoadedModuleList", "0x8055a420");
    expect_info(res.output, "KdDebuggerDataBlock", "0x80545ae0");
    expect_info(res.output, "PfnDataBase", "0x80c00000");
    expect_info(res.output, "Dump attributes", "0x9 (HiberCrash, KernelGeneratedTriageDump)");
    expect_info(res.output, "Product type", "ServerNt (server)");
    expect_info(res.output, "Comment", "hello");
    expect_info(res.output, "Physical memory present", "12288 bytes (0.0 MiB)");
    expect_info(res.output, "Physical ranges", "2");
    expect_info(res.output, "Max physical address", "0x11000");
    free(res.output);
    ms_image_close(img);
}

static void test_info_raw_image(void **state)
{
    (void)state;
    ms_image *img = open_raw();
    result res;
    run_with(&ms_plugin_info, img, MS_RENDER_JSONL, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    assert_string_equal(res.output,
                        "{\"Variable\": \"Image format\", \"Value\": \"raw\"}\n"
                        "{\"Variable\": \"Image size\", \"Value\": \"12288 bytes\"}\n"
                        "{\"Variable\": \"Physical memory present\", \"Value\": \"12288 bytes (0.0 MiB)\"}\n"
                        "{\"Variable\": \"Physical ranges\", \"Value\": \"1\"}\n"
                        "{\"Variable\": \"Max physical address\", \"Value\": \"0x3000\"}\n"
                        /* A raw image of zeros has no page tables: discovery says so and info still succeeds. */
                        "{\"Variable\": \"Kernel\", \"Value\": \"not found: no page-table root found: expected a "
                        "top-level table with a self-referencing entry that translates KUSER_SHARED_DATA, found "
                        "none in 12288 bytes of physical memory\"}\n");
    free(res.output);
    ms_image_close(img);
}

static void test_info_triage_sample(void **state)
{
    (void)state;
    const char *shared = getenv("MEMSIFT_SHARED");
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/triage_x64.dmp", shared ? shared : "../shared");
    if (access(path, R_OK) != 0) {
        print_message("skipping: %s is absent\n", path);
        skip();
    }
    ms_image *img = NULL;
    if (ms_image_open(path, NULL, &img) != MS_OK)
        fail_msg("ms_image_open(%s): %s", path, ms_last_error());
    result res;
    run_with(&ms_plugin_info, img, MS_RENDER_JSONL, NULL, 0, &res);
    assert_int_equal(res.status, MS_OK);
    expect_info(res.output, "Image format", "crash dump (64-bit)");
    expect_info(res.output, "Dump type", "triage (DumpType 4)");
    expect_info(res.output, "Machine", "AMD64 (0x8664)");
    expect_info(res.output, "Paging mode", "x64 (4-level)");
    expect_info(res.output, "NT build", "19041");
    expect_info(res.output, "Processors", "16");
    expect_info(res.output, "Bugcheck code", "0x1000007e");
    expect_info(res.output, "DTB", "0x1ad000");
    expect_info(res.output, "PsActiveProcessHead", "0xfffff8047c61e200");
    expect_info(res.output, "PsLoadedModuleList", "0xfffff8047c62a390");
    expect_info(res.output, "System time", "2021-02-21 01:38:22 UTC");
    expect_info(res.output, "Physical memory present", "0 bytes (0.0 MiB)");
    free(res.output);

    run_with(&ms_plugin_netscan, img, MS_RENDER_TEXT, NULL, 0, &res);
    assert_int_equal(res.status, MS_ERR_UNSUPPORTED);
    assert_non_null(strstr(res.error, "netscan needs physical memory, but this is a triage dump (DumpType 4)"));
    free(res.output);
    ms_image_close(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_on_raw_image),
        cmocka_unit_test(test_no_rows_still_renders_document),
        cmocka_unit_test(test_failure_keeps_message_and_closes_document),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_needs_memory),
        cmocka_unit_test(test_needs_x86),
        cmocka_unit_test(test_bad_host),
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_info_x86_pae_dump),
        cmocka_unit_test(test_info_raw_image),
        cmocka_unit_test(test_info_triage_sample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
