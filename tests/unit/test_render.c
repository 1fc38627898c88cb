/* Renderers (text, JSON, JSON Lines, CSV) byte for byte, and FILETIME
 * formatting.  Expected times come from Python's datetime, not from the
 * code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "memsift/render.h"

#define FT_1970 116444736000000000ull
#define FT_TRIAGE 132583451020000000ull          /* 2021-02-21 01:38:22 */
#define FT_TRIAGE_EXACT 132583451029877657ull    /* the triage dump's SystemTime */
#define FT_9999_LAST 2650467743990000000ull      /* 9999-12-31 23:59:59 */

typedef struct capture {
    char *text;
    size_t len;
    FILE *stream;
    ms_renderer *r;
} capture;

static void capture_open(capture *c, ms_render_format format)
{
    c->text = NULL;
    c->len = 0;
    c->stream = open_memstream(&c->text, &c->len);
    assert_non_null(c->stream);
    assert_int_equal(ms_renderer_create(format, c->stream, &c->r), MS_OK);
}

/* End the renderer and return what it wrote (owned by c). */
static const char *capture_close(capture *c)
{
    assert_int_equal(ms_renderer_end(c->r), MS_OK);
    ms_renderer_destroy(c->r);
    fclose(c->stream);
    return c->text;
}

static void render_all(ms_render_format format, const ms_column *cols, size_t ncols, const ms_value *rows,
                       size_t nrows, const char *expected)
{
    capture c;
    capture_open(&c, format);
    assert_int_equal(ms_renderer_begin(c.r, cols, ncols), MS_OK);
    for (size_t i = 0; i < nrows; i++)
        assert_int_equal(ms_renderer_row(c.r, rows + i * ncols), MS_OK);
    assert_string_equal(capture_close(&c), expected);
    free(c.text);
}

/* ---- text ---- */

static const ms_column text_cols[] = {
    {"PID", MS_VT_UINT, 4},   {"Name", MS_VT_STR, 6},    {"Offset", MS_VT_ADDR, 10},
    {"Wow64", MS_VT_BOOL, 0}, {"Created", MS_VT_TIME, 0},
};

static void test_text_table(void **state)
{
    (void)state;
    const ms_value rows[] = {
        ms_val_uint(4), ms_val_str("System"), ms_val_uint(0x1000), ms_val_bool(1), ms_val_time(FT_TRIAGE),
        /* Longer than its width: pushes this row and widens Name after it. */
        ms_val_uint(1234), ms_val_str("svchost.exe"), ms_val_null(), ms_val_bool(0), ms_val_time(0),
        ms_val_uint(8), ms_val_str("a"), ms_val_uint(0xfffff8047c61e200ull), ms_val_bool(1), ms_val_null(),
        ms_val_uint(9), ms_val_str(NULL), ms_val_uint(1), ms_val_bool(0), ms_val_time(FT_9999_LAST),
    };
    render_all(MS_RENDER_TEXT, text_cols, 5, rows, 4,
               "PID   Name    Offset      Wow64  Created\n"
               "----  ------  ----------  -----  -----------------------\n"
               "4     System  0x1000      True   2021-02-21 01:38:22 UTC\n"
               "1234  svchost.exe  -           False  -\n"
               "8     a            0xfffff8047c61e200  True   -\n"
               "9     -            0x1                 False  9999-12-31 23:59:59 UTC\n");
}

static void test_text_no_rows_and_long_header(void **state)
{
    (void)state;
    const ms_column cols[] = {{"LocalAddress", MS_VT_STR, 4}, {"Port", MS_VT_INT, 0}};
    const ms_value rows[] = {ms_val_str("10.0.0.4"), ms_val_int(-443)};
    render_all(MS_RENDER_TEXT, cols, 2, NULL, 0,
               "LocalAddress  Port\n"
               "------------  ------\n");
    render_all(MS_RENDER_TEXT, cols, 2, rows, 1,
               "LocalAddress  Port\n"
               "------------  ------\n"
               "10.0.0.4      -443\n");
}

static void test_text_escaping(void **state)
{
    (void)state;
    const ms_column cols[] = {{"S", MS_VT_STR, 3}, {"N", MS_VT_INT, 1}};
    /* tab, a C0 control, a C1 control (CSI), an invalid byte, a truncated
     * sequence: escaped or replaced, and counted by characters for padding. */
    const ms_value rows[] = {
        ms_val_str("a\tb\x01" "c\xc2\x9b" "d\xff" "e\xe2\x82"), ms_val_int(1),
        ms_val_str("\xc3\xa9t\xc3\xa9"), ms_val_int(2),
    };
    render_all(MS_RENDER_TEXT, cols, 2, rows, 2,
               "S    N\n"
               "---  -\n"
               "a\\tb\\x01c\\u009bd\xef\xbf\xbd" "e\xef\xbf\xbd  1\n"
               "\xc3\xa9t\xc3\xa9" "                  2\n");
}

/* ---- JSON ---- */

static const ms_column json_cols[] = {
    {"Offset", MS_VT_ADDR, 0}, {"PID", MS_VT_INT, 0}, {"Owner", MS_VT_STR, 0},
    {"Created", MS_VT_TIME, 0}, {"Ok", MS_VT_BOOL, 0},
};

#define JSON_ROWS                                                                                                \
    {                                                                                                            \
        ms_val_uint(0x840f65d68730ull), ms_val_int(4), ms_val_str("System"), ms_val_time(FT_TRIAGE),              \
            ms_val_bool(1), ms_val_null(), ms_val_int(-1), ms_val_str(NULL), ms_val_time(0), ms_val_bool(0),      \
            ms_val_uint(UINT64_MAX), ms_val_int(INT64_MIN), ms_val_str(""), ms_val_time(FT_TRIAGE_EXACT),         \
            ms_val_null(),                                                                                       \
    }

static void test_json(void **state)
{
    (void)state;
    const ms_value json_rows[] = JSON_ROWS;
    render_all(MS_RENDER_JSON, json_cols, 5, json_rows, 3,
               "[\n"
               "  {\n"
               "    \"Offset\": 145201667934000,\n"
               "    \"PID\": 4,\n"
               "    \"Owner\": \"System\",\n"
               "    \"Created\": \"2021-02-21T01:38:22+00:00\",\n"
               "    \"Ok\": true,\n"
               "    \"__children\": []\n"
               "  },\n"
               "  {\n"
               "    \"Offset\": null,\n"
               "    \"PID\": -1,\n"
               "    \"Owner\": null,\n"
               "    \"Created\": null,\n"
               "    \"Ok\": false,\n"
               "    \"__children\": []\n"
               "  },\n"
               "  {\n"
               "    \"Offset\": 18446744073709551615,\n"
               "    \"PID\": -9223372036854775808,\n"
               "    \"Owner\": \"\",\n"
               "    \"Created\": \"2021-02-21T01:38:22.987765+00:00\",\n"
               "    \"Ok\": null,\n"
               "    \"__children\": []\n"
               "  }\n"
               "]\n");
}

static void test_json_empty(void **state)
{
    (void)state;
    render_all(MS_RENDER_JSON, json_cols, 5, NULL, 0, "[]\n");
    render_all(MS_RENDER_JSONL, json_cols, 5, NULL, 0, "");
}

static void test_jsonl(void **state)
{
    (void)state;
    const ms_value json_rows[] = JSON_ROWS;
    render_all(MS_RENDER_JSONL, json_cols, 5, json_rows, 2,
               "{\"Offset\": 145201667934000, \"PID\": 4, \"Owner\": \"System\", "
               "\"Created\": \"2021-02-21T01:38:22+00:00\", \"Ok\": true}\n"
               "{\"Offset\": null, \"PID\": -1, \"Owner\": null, \"Created\": null, \"Ok\": false}\n");
}

static void test_json_string_escaping(void **state)
{
    (void)state;
    const ms_column cols[] = {{"Na\"me\n", MS_VT_STR, 0}};
    const ms_value rows[] = {
        ms_val_str("q\"b\\s/\n\r\t\b\f\x01\x1f\x7f \xc3\xa9 \xf0\x9f\x98\x80"),
        /* invalid lead, lone continuation, overlong, surrogate, truncated */
        ms_val_str("\xff|\x80|\xc0\xaf|\xe0\x80\xaf|\xed\xa0\x80|\xf0\x9f\x98"),
        /* past U+10FFFF */
        ms_val_str("\xf4\x90\x80\x80."),
    };
    render_all(MS_RENDER_JSONL, cols, 1, rows, 3,
               "{\"Na\\\"me\\n\": \"q\\\"b\\\\s/\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f \xc3\xa9 \xf0\x9f\x98\x80\"}\n"
               "{\"Na\\\"me\\n\": \"\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
               "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\"}\n"
               "{\"Na\\\"me\\n\": \"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd.\"}\n");
}

/* ---- CSV ---- */

static void test_csv(void **state)
{
    (void)state;
    const ms_column cols[] = {
        {"Offset", MS_VT_ADDR, 0}, {"Name", MS_VT_STR, 0}, {"Note, quoted", MS_VT_STR, 0},
        {"Created", MS_VT_TIME, 0}, {"Flag", MS_VT_BOOL, 0}, {"N", MS_VT_INT, 0},
    };
    const ms_value rows[] = {
        ms_val_uint(0x10), ms_val_str("plain"), ms_val_str("a,b"), ms_val_time(FT_TRIAGE), ms_val_bool(1),
        ms_val_int(-5),
        ms_val_null(), ms_val_str("say \"hi\""), ms_val_str("line\nbreak\r"), ms_val_null(), ms_val_bool(0),
        ms_val_null(),
        ms_val_uint(0), ms_val_str(""), ms_val_str(NULL), ms_val_time(FT_TRIAGE_EXACT), ms_val_null(),
        ms_val_int(0),
        ms_val_uint(1), ms_val_str("bad\xff"), ms_val_str("x"), ms_val_time(UINT64_MAX), ms_val_bool(1),
        ms_val_int(1),
    };
    render_all(MS_RENDER_CSV, cols, 6, rows, 4,
               "Offset,Name,\"Note, quoted\",Created,Flag,N\r\n"
               "0x10,plain,\"a,b\",2021-02-21T01:38:22+00:00,True,-5\r\n"
               ",\"say \"\"hi\"\"\",\"line\nbreak\r\",,False,\r\n"
               "0x0,\"\",,2021-02-21T01:38:22.987765+00:00,,0\r\n"
               "0x1,bad\xef\xbf\xbd,x,,True,1\r\n");
}

/* ---- renderer API ---- */

static void test_format_parse(void **state)
{
    (void)state;
    ms_render_format f = MS_RENDER_CSV;
    assert_int_equal(ms_render_format_parse("text", &f), MS_OK);
    assert_int_equal(f, MS_RENDER_TEXT);
    f = MS_RENDER_CSV;
    assert_int_equal(ms_render_format_parse("quick", &f), MS_OK);
    assert_int_equal(f, MS_RENDER_TEXT);
    f = MS_RENDER_CSV;
    assert_int_equal(ms_render_format_parse("pretty", &f), MS_OK);
    assert_int_equal(f, MS_RENDER_TEXT);
    assert_int_equal(ms_render_format_parse("json", &f), MS_OK);
    assert_int_equal(f, MS_RENDER_JSON);
    assert_int_equal(ms_render_format_parse("jsonl", &f), MS_OK);
    assert_int_equal(f, MS_RENDER_JSONL);
    assert_int_equal(ms_render_format_parse("csv", &f), MS_OK);
    assert_int_equal(f, MS_RENDER_CSV);
    assert_int_equal(ms_render_format_parse("xml", &f), MS_ERR_ARG);
    assert_non_null(strstr(ms_last_error(), "'xml'"));
    assert_int_equal(ms_render_format_parse("JSON", &f), MS_ERR_ARG);
}

static void test_call_order(void **state)
{
    (void)state;
    capture c;
    capture_open(&c, MS_RENDER_JSON);
    ms_value v = ms_val_int(1);
    ms_column col = {"N", MS_VT_INT, 0};
    assert_int_equal(ms_renderer_row(c.r, &v), MS_ERR_ARG);
    assert_int_equal(ms_renderer_begin(c.r, &col, 1), MS_OK);
    assert_int_equal(ms_renderer_begin(c.r, &col, 1), MS_ERR_ARG);
    assert_int_equal(ms_renderer_row(c.r, &v), MS_OK);
    assert_int_equal(ms_renderer_end(c.r), MS_OK);
    assert_int_equal(ms_renderer_end(c.r), MS_ERR_ARG);
    assert_int_equal(ms_renderer_row(c.r, &v), MS_ERR_ARG);
    ms_renderer_destroy(c.r);
    fclose(c.stream);
    assert_string_equal(c.text, "[\n  {\n    \"N\": 1,\n    \"__children\": []\n  }\n]\n");
    free(c.text);

    capture_open(&c, MS_RENDER_TEXT);
    ms_column bad = {"Bad", (ms_value_type)99, 0};
    assert_int_equal(ms_renderer_begin(c.r, &bad, 1), MS_ERR_ARG);
    assert_non_null(strstr(ms_last_error(), "'Bad'"));
    ms_renderer_destroy(c.r);
    fclose(c.stream);
    assert_string_equal(c.text, "");
    free(c.text);

    ms_renderer *r;
    assert_int_equal(ms_renderer_create(MS_RENDER_TEXT, NULL, &r), MS_ERR_ARG);
    assert_int_equal(ms_renderer_create((ms_render_format)42, stdout, &r), MS_ERR_ARG);
}

/* Column names are copied: the caller's array may go away after begin. */
static void test_columns_copied(void **state)
{
    (void)state;
    capture c;
    capture_open(&c, MS_RENDER_CSV);
    char name[8] = "Temp";
    ms_column col = {name, MS_VT_STR, 0};
    assert_int_equal(ms_renderer_begin(c.r, &col, 1), MS_OK);
    strcpy(name, "XXXX");
    col.type = MS_VT_INT;
    ms_value v = ms_val_str("s");
    assert_int_equal(ms_renderer_row(c.r, &v), MS_OK);
    assert_string_equal(capture_close(&c), "Temp\r\ns\r\n");
    free(c.text);
}

static void test_write_error(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (full == NULL)
        skip();
    ms_renderer *r;
    assert_int_equal(ms_renderer_create(MS_RENDER_TEXT, full, &r), MS_OK);
    ms_column col = {"N", MS_VT_INT, 0};
    assert_int_equal(ms_renderer_begin(r, &col, 1), MS_OK);
    assert_int_equal(ms_renderer_end(r), MS_ERR_IO);
    assert_non_null(strstr(ms_last_error(), "cannot write"));
    ms_renderer_destroy(r);
    fclose(full);
}

/* ---- FILETIME ---- */

static void expect_iso(uint64_t ft, const char *iso, const char *text)
{
    char buf[64];
    assert_int_equal(ms_filetime_format_iso(ft, buf, sizeof buf), MS_OK);
    assert_string_equal(buf, iso);
    assert_int_equal(ms_filetime_format_text(ft, buf, sizeof buf), MS_OK);
    assert_string_equal(buf, text);
}

static void test_filetime_epochs(void **state)
{
    (void)state;
    expect_iso(0, "1601-01-01T00:00:00+00:00", "1601-01-01 00:00:00 UTC");
    expect_iso(FT_1970, "1970-01-01T00:00:00+00:00", "1970-01-01 00:00:00 UTC");
    expect_iso(FT_TRIAGE, "2021-02-21T01:38:22+00:00", "2021-02-21 01:38:22 UTC");
    expect_iso(FT_TRIAGE_EXACT, "2021-02-21T01:38:22.987765+00:00", "2021-02-21 01:38:22 UTC");
    expect_iso(FT_9999_LAST + 9999999, "9999-12-31T23:59:59.999999+00:00", "9999-12-31 23:59:59 UTC");
}

static void test_filetime_calendar(void **state)
{
    (void)state;
    expect_iso(314496000000000ull, "1601-12-31T00:00:00+00:00", "1601-12-31 00:00:00 UTC");
    /* Last day of the first leap year of a four-year block. */
    expect_iso(1261440000000000ull, "1604-12-31T00:00:00+00:00", "1604-12-31 00:00:00 UTC");
    /* 1700 and 1900 are not leap years; 2000 (a 400th year) and 2024 are. */
    expect_iso(31555872000000000ull, "1700-12-31T00:00:00+00:00", "1700-12-31 00:00:00 UTC");
    expect_iso(94405823990000000ull, "1900-02-28T23:59:59+00:00", "1900-02-28 23:59:59 UTC");
    expect_iso(94405824000000000ull, "1900-03-01T00:00:00+00:00", "1900-03-01 00:00:00 UTC");
    expect_iso(125962992000000000ull, "2000-02-29T12:00:00+00:00", "2000-02-29 12:00:00 UTC");
    /* The last second of a 400-year cycle. */
    expect_iso(126227807990000000ull, "2000-12-31T23:59:59+00:00", "2000-12-31 23:59:59 UTC");
    expect_iso(126227807990000000ull + 10000000, "2001-01-01T00:00:00+00:00", "2001-01-01 00:00:00 UTC");
    expect_iso(133536384000000000ull, "2024-02-29T00:00:00+00:00", "2024-02-29 00:00:00 UTC");
    expect_iso(157520160000000000ull, "2100-03-01T00:00:00+00:00", "2100-03-01 00:00:00 UTC");
    expect_iso(157520160000000000ull - 864000000000ull, "2100-02-28T00:00:00+00:00", "2100-02-28 00:00:00 UTC");
}

static void test_filetime_fractions(void **state)
{
    (void)state;
    /* Microseconds appear only when non-zero; 100 ns ticks below a
     * microsecond are dropped, as Python's datetime has none. */
    expect_iso(FT_1970 + 10, "1970-01-01T00:00:00.000001+00:00", "1970-01-01 00:00:00 UTC");
    expect_iso(FT_1970 + 5, "1970-01-01T00:00:00+00:00", "1970-01-01 00:00:00 UTC");
    expect_iso(FT_1970 + 9999999, "1970-01-01T00:00:00.999999+00:00", "1970-01-01 00:00:00 UTC");
    expect_iso(FT_1970 + 1230000, "1970-01-01T00:00:00.123000+00:00", "1970-01-01 00:00:00 UTC");
}

static void test_filetime_out_of_range(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(ms_filetime_format_iso(FT_9999_LAST + 10000000, buf, sizeof buf), MS_ERR_ARG);
    assert_non_null(strstr(ms_last_error(), "9999"));
    assert_int_equal(ms_filetime_format_text(FT_9999_LAST + 10000000, buf, sizeof buf), MS_ERR_ARG);
    assert_int_equal(ms_filetime_format_iso(UINT64_MAX, buf, sizeof buf), MS_ERR_ARG);
    assert_int_equal(ms_filetime_format_text(UINT64_MAX, buf, sizeof buf), MS_ERR_ARG);
    /* A buffer too small for the text is an error, not a truncation. */
    assert_int_equal(ms_filetime_format_iso(FT_1970, buf, 25), MS_ERR_ARG);
    assert_int_equal(ms_filetime_format_iso(FT_1970, buf, 26), MS_OK);
    assert_int_equal(ms_filetime_format_text(FT_1970, buf, 23), MS_ERR_ARG);
    assert_int_equal(ms_filetime_format_text(FT_1970, buf, 24), MS_OK);
    assert_int_equal(ms_filetime_format_text(FT_1970, NULL, 24), MS_ERR_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_text_no_rows_and_long_header),
        cmocka_unit_test(test_text_escaping),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_json_empty),
        cmocka_unit_test(test_jsonl),
        cmocka_unit_test(test_json_string_escaping),
        cmocka_unit_test(test_csv),
        cmocka_unit_test(test_format_parse),
        cmocka_unit_test(test_call_order),
        cmocka_unit_test(test_columns_copied),
        cmocka_unit_test(test_write_error),
        cmocka_unit_test(test_filetime_epochs),
        cmocka_unit_test(test_filetime_calendar),
        cmocka_unit_test(test_filetime_fractions),
        cmocka_unit_test(test_filetime_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
