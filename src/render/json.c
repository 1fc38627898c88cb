/* JSON (an indented array of row objects, each with Volatility 3's
 * "__children" key) and JSON Lines (one compact object per line). */
#include "render_impl.h"

#include <inttypes.h>
#include <string.h>

/* A JSON string: quotes, backslashes and control characters escaped,
 * ill-formed UTF-8 replaced by U+FFFD, everything else as UTF-8. */
static void put_json_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    fputc('"', out);
    while (len > 0) {
        int32_t cp;
        size_t n = ms_utf8_decode(p, len, &cp);
        switch (cp) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\b': fputs("\\b", out); break;
        case '\f': fputs("\\f", out); break;
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case -1: ms_utf8_put(out, 0xFFFD); break;
        default:
            if (cp < 0x20 || cp == 0x7f)
                fprintf(out, "\\u%04x", (unsigned)cp);
            else
                fwrite(p, 1, n, out);
        }
        p += n;
        len -= n;
    }
    fputc('"', out);
}

static void put_json_value(FILE *out, const ms_column *col, const ms_value *val)
{
    char buf[48];
    if (ms_render_is_null(col, val)) {
        fputs("null", out);
        return;
    }
    switch (col->type) {
    case MS_VT_STR: put_json_string(out, val->v.s); break;
    case MS_VT_INT: fprintf(out, "%" PRId64, val->v.i); break;
    case MS_VT_UINT:
    case MS_VT_ADDR: fprintf(out, "%" PRIu64, val->v.u); break;
    case MS_VT_BOOL: fputs(val->v.b ? "true" : "false", out); break;
    case MS_VT_TIME:
        if (ms_filetime_format_iso(val->v.u, buf, sizeof buf) == MS_OK)
            put_json_string(out, buf);
        else
            fputs("null", out);
        break;
    }
}

static ms_status json_begin(ms_renderer *r)
{
    fputc('[', r->out);
    return MS_OK;
}

static ms_status json_row(ms_renderer *r, const ms_value *values)
{
    fputs(r->rows == 0 ? "\n  {\n" : ",\n  {\n", r->out);
    for (size_t i = 0; i < r->ncolumns; i++) {
        fputs("    ", r->out);
        put_json_string(r->out, r->columns[i].name);
        fputs(": ", r->out);
        put_json_value(r->out, &r->columns[i], &values[i]);
        fputs(",\n", r->out);
    }
    fputs("    \"__children\": []\n  }", r->out);
    return MS_OK;
}

static ms_status json_end(ms_renderer *r)
{
    fputs(r->rows == 0 ? "]\n" : "\n]\n", r->out);
    return MS_OK;
}

static ms_status jsonl_begin(ms_renderer *r)
{
    (void)r;
    return MS_OK;
}

static ms_status jsonl_row(ms_renderer *r, const ms_value *values)
{
    fputc('{', r->out);
    for (size_t i = 0; i < r->ncolumns; i++) {
        if (i > 0)
            fputs(", ", r->out);
        put_json_string(r->out, r->columns[i].name);
        fputs(": ", r->out);
        put_json_value(r->out, &r->columns[i], &values[i]);
    }
    fputs("}\n", r->out);
    return MS_OK;
}

const ms_render_ops ms_render_json_ops = {json_begin, json_row, json_end};
const ms_render_ops ms_render_jsonl_ops = {jsonl_begin, jsonl_row, jsonl_begin};
