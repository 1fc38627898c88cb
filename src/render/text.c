/* Text table: a header, a rule, then one line per row as it arrives.  Each
 * column is padded to its width hint; a longer value widens the column for
 * the rows after it. */
#include "render_impl.h"

#include <inttypes.h>
#include <string.h>

#define COLUMN_GAP 2

static size_t default_width(ms_value_type type)
{
    switch (type) {
    case MS_VT_INT:
    case MS_VT_UINT: return 6;
    case MS_VT_ADDR: return 18;
    case MS_VT_TIME: return 23;
    case MS_VT_BOOL: return 5;
    case MS_VT_STR: break;
    }
    return 12;
}

static void put_repeat(FILE *out, int c, size_t n)
{
    while (n-- > 0)
        fputc(c, out);
}

/* Write a string safe for a terminal: C0 and C1 controls escaped, ill-formed
 * UTF-8 replaced by U+FFFD.  `out` may be NULL to only measure.  Returns the
 * width in code points. */
static size_t put_text_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), width = 0;
    while (len > 0) {
        int32_t cp;
        size_t n = ms_utf8_decode(p, len, &cp);
        char esc[12];
        int e = 0;
        if (cp == '\n' || cp == '\r' || cp == '\t')
            e = snprintf(esc, sizeof esc, "\\%c", cp == '\n' ? 'n' : cp == '\r' ? 'r' : 't');
        else if (cp >= 0 && (cp < 0x20 || cp == 0x7f))
            e = snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
        else if (cp >= 0x80 && cp < 0xa0)
            e = snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
        if (e > 0) {
            if (out != NULL)
                fputs(esc, out);
            width += (size_t)e;
        } else {
            if (out != NULL) {
                if (cp < 0)
                    ms_utf8_put(out, 0xFFFD);
                else
                    fwrite(p, 1, n, out);
            }
            width++;
        }
        p += n;
        len -= n;
    }
    return width;
}

static size_t put_cell(FILE *out, const ms_column *col, const ms_value *val)
{
    char buf[48];
    if (ms_render_is_null(col, val)) {
        fputc('-', out);
        return 1;
    }
    switch (col->type) {
    case MS_VT_STR: return put_text_string(out, val->v.s);
    case MS_VT_INT: snprintf(buf, sizeof buf, "%" PRId64, val->v.i); break;
    case MS_VT_UINT: snprintf(buf, sizeof buf, "%" PRIu64, val->v.u); break;
    case MS_VT_ADDR: snprintf(buf, sizeof buf, "0x%" PRIx64, val->v.u); break;
    case MS_VT_BOOL: snprintf(buf, sizeof buf, "%s", val->v.b ? "True" : "False"); break;
    case MS_VT_TIME:
        if (ms_filetime_format_text(val->v.u, buf, sizeof buf) != MS_OK)
            snprintf(buf, sizeof buf, "-");
        break;
    }
    fputs(buf, out);
    return strlen(buf);
}

static void pad_after(ms_renderer *r, size_t i, size_t written)
{
    if (i + 1 < r->ncolumns)
        put_repeat(r->out, ' ', (r->widths[i] > written ? r->widths[i] - written : 0) + COLUMN_GAP);
    if (written > r->widths[i])
        r->widths[i] = written;
}

static ms_status text_begin(ms_renderer *r)
{
    for (size_t i = 0; i < r->ncolumns; i++) {
        const ms_column *c = &r->columns[i];
        size_t hint = c->width > 0 ? (size_t)c->width : default_width(c->type);
        size_t name = put_text_string(NULL, c->name);
        r->widths[i] = hint > name ? hint : name;
    }
    for (size_t i = 0; i < r->ncolumns; i++)
        pad_after(r, i, put_text_string(r->out, r->columns[i].name));
    fputc('\n', r->out);
    for (size_t i = 0; i < r->ncolumns; i++) {
        put_repeat(r->out, '-', r->widths[i]);
        if (i + 1 < r->ncolumns)
            put_repeat(r->out, ' ', COLUMN_GAP);
    }
    fputc('\n', r->out);
    return MS_OK;
}

static ms_status text_row(ms_renderer *r, const ms_value *values)
{
    for (size_t i = 0; i < r->ncolumns; i++)
        pad_after(r, i, put_cell(r->out, &r->columns[i], &values[i]));
    fputc('\n', r->out);
    return MS_OK;
}

static ms_status text_end(ms_renderer *r)
{
    (void)r;
    return MS_OK;
}

const ms_render_ops ms_render_text_ops = {text_begin, text_row, text_end};
