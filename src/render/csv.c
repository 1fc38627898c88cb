/* CSV as RFC 4180 describes it: a header record, CRLF line ends, fields
 * quoted only when they hold a comma, a quote or a line break.  An empty
 * string is written "" so that it differs from a null (an empty field). */
#include "render_impl.h"

#include <inttypes.h>
#include <string.h>

static void put_csv_string(FILE *out, const char *s)
{
    int quote = s[0] == '\0' || strpbrk(s, ",\"\r\n") != NULL;
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    if (quote)
        fputc('"', out);
    while (len > 0) {
        int32_t cp;
        size_t n = ms_utf8_decode(p, len, &cp);
        if (cp < 0)
            ms_utf8_put(out, 0xFFFD);
        else if (cp == '"')
            fputs("\"\"", out);
        else
            fwrite(p, 1, n, out);
        p += n;
        len -= n;
    }
    if (quote)
        fputc('"', out);
}

static void put_csv_value(FILE *out, const ms_column *col, const ms_value *val)
{
    char buf[48];
    if (ms_render_is_null(col, val))
        return;
    switch (col->type) {
    case MS_VT_STR: put_csv_string(out, val->v.s); break;
    case MS_VT_INT: fprintf(out, "%" PRId64, val->v.i); break;
    case MS_VT_UINT: fprintf(out, "%" PRIu64, val->v.u); break;
    case MS_VT_ADDR: fprintf(out, "0x%" PRIx64, val->v.u); break;
    case MS_VT_BOOL: fputs(val->v.b ? "True" : "False", out); break;
    case MS_VT_TIME:
        if (ms_filetime_format_iso(val->v.u, buf, sizeof buf) == MS_OK)
            fputs(buf, out);
        break;
    }
}

static ms_status csv_begin(ms_renderer *r)
{
    for (size_t i = 0; i < r->ncolumns; i++) {
        if (i > 0)
            fputc(',', r->out);
        put_csv_string(r->out, r->columns[i].name);
    }
    fputs("\r\n", r->out);
    return MS_OK;
}

static ms_status csv_row(ms_renderer *r, const ms_value *values)
{
    for (size_t i = 0; i < r->ncolumns; i++) {
        if (i > 0)
            fputc(',', r->out);
        put_csv_value(r->out, &r->columns[i], &values[i]);
    }
    fputs("\r\n", r->out);
    return MS_OK;
}

static ms_status csv_end(ms_renderer *r)
{
    (void)r;
    return MS_OK;
}

const ms_render_ops ms_render_csv_ops = {csv_begin, csv_row, csv_end};
