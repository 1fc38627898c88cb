/* Rule sources built for the user from a plain text or a hex pattern. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "yara_internal.h"

typedef struct out_buf {
    char *p;
    size_t size, used;
    int overflow;
} out_buf;

static void put(out_buf *o, const char *fmt, ...)
{
    if (o->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->used, o->size - o->used, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->size - o->used)
        o->overflow = 1;
    else
        o->used += (size_t)n;
}

static ms_status check_name(const char *name)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > 128 || (name[0] >= '0' && name[0] <= '9'))
        return ms_fail(MS_ERR_ARG, "'%s' is not a YARA rule name", name ? name : "(null)");
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return ms_fail(MS_ERR_ARG, "'%s' is not a YARA rule name", name);
    return MS_OK;
}

/* The next code point of UTF-8 text; a byte that does not start a valid
 * sequence stands for itself (Latin-1), as text pasted from a hex view may. */
static uint32_t next_code_point(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    unsigned n = p[0] >= 0xf0 && p[0] < 0xf5 ? 3 : p[0] >= 0xe0 ? 2 : p[0] >= 0xc2 && p[0] < 0xe0 ? 1 : 0;
    if (p[0] >= 0xf5)
        n = 0;
    uint32_t cp = n == 3 ? p[0] & 0x07u : n == 2 ? p[0] & 0x0fu : n == 1 ? p[0] & 0x1fu : p[0];
    for (unsigned i = 1; i <= n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *pp = p + 1;
            return p[0];
        }
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
        *pp = p + 1;
        return p[0];
    }
    *pp = p + 1 + n;
    return cp;
}

static void put_utf16_hex(out_buf *o, const char *text)
{
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        uint32_t cp = next_code_point(&p);
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            uint32_t hi = 0xd800 + (v >> 10), lo = 0xdc00 + (v & 0x3ff);
            put(o, "%02X %02X %02X %02X ", hi & 0xff, hi >> 8, lo & 0xff, lo >> 8);
        } else {
            put(o, "%02X %02X ", cp & 0xff, cp >> 8);
        }
    }
}

ms_status ms_yara_rule_for_text(const char *rule_name, const char *text, int nocase, char *buf, size_t size)
{
    ms_status st = check_name(rule_name);
    if (st != MS_OK)
        return st;
    if (text == NULL || text[0] == '\0')
        return ms_fail(MS_ERR_ARG, "the text to search for is empty");
    if (buf == NULL || size == 0)
        return ms_fail(MS_ERR_ARG, "ms_yara_rule_for_text needs a buffer");
    out_buf o = {buf, size, 0, 0};
    int ascii_only = 1;
    put(&o, "rule %s { strings: $a = \"", rule_name);
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p >= 0x80)
            ascii_only = 0;
        if (*p == '"' || *p == '\\')
            put(&o, "\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f)
            put(&o, "\\x%02x", *p);
        else
            put(&o, "%c", *p);
    }
    /* libyara's "wide" only interleaves zeros, which is UTF-16LE for ASCII
     * alone; other text gets its UTF-16LE form as a hex string. */
    if (ascii_only) {
        put(&o, "\" ascii wide%s condition: $a }", nocase ? " nocase" : "");
    } else {
        put(&o, "\"%s $w = { ", nocase ? " nocase" : "");
        put_utf16_hex(&o, text);
        put(&o, "} condition: any of them }");
    }
    if (o.overflow)
        return ms_fail(MS_ERR_LIMIT, "the text to search for is too long (%zu bytes)", strlen(text));
    return MS_OK;
}

ms_status ms_yara_rule_for_hex(const char *rule_name, const char *hex, char *buf, size_t size)
{
    ms_status st = check_name(rule_name);
    if (st != MS_OK)
        return st;
    if (hex == NULL || hex[0] == '\0')
        return ms_fail(MS_ERR_ARG, "the hex pattern is empty");
    if (buf == NULL || size == 0)
        return ms_fail(MS_ERR_ARG, "ms_yara_rule_for_hex needs a buffer");
    for (const char *p = hex; *p; p++)
        if (strchr("0123456789abcdefABCDEF?~[]-()| \t", *p) == NULL)
            return ms_fail(MS_ERR_ARG, "'%c' (0x%02x) cannot appear in a hex pattern: use hex digits, ?? wildcards, "
                           "[N-M] jumps and (A|B) alternatives", *p >= 0x20 && *p < 0x7f ? *p : '?',
                           (unsigned char)*p);
    out_buf o = {buf, size, 0, 0};
    put(&o, "rule %s { strings: $a = { %s } condition: $a }", rule_name, hex);
    if (o.overflow)
        return ms_fail(MS_ERR_LIMIT, "the hex pattern is too long (%zu bytes)", strlen(hex));
    return MS_OK;
}
