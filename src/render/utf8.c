/* Strict UTF-8 decoding (no overlongs, no surrogates, nothing above U+10FFFF). */
#include "render_impl.h"

static int in(unsigned char b, unsigned char lo, unsigned char hi)
{
    return b >= lo && b <= hi;
}

size_t ms_utf8_decode(const unsigned char *s, size_t len, int32_t *cp)
{
    unsigned char b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF;   /* allowed range of the second byte */
    int32_t v;
    if (in(b, 0xC2, 0xDF)) {
        need = 1;
        v = b & 0x1F;
    } else if (in(b, 0xE0, 0xEF)) {
        need = 2;
        v = b & 0x0F;
        if (b == 0xE0)
            lo = 0xA0;
        else if (b == 0xED)
            hi = 0x9F;
    } else if (in(b, 0xF0, 0xF4)) {
        need = 3;
        v = b & 0x07;
        if (b == 0xF0)
            lo = 0x90;
        else if (b == 0xF4)
            hi = 0x8F;
    } else {
        *cp = -1;
        return 1;
    }
    for (size_t i = 1; i <= need; i++) {
        if (i >= len || !in(s[i], i == 1 ? lo : 0x80, i == 1 ? hi : 0xBF)) {
            *cp = -1;
            return i;
        }
        v = (v << 6) | (s[i] & 0x3F);
    }
    *cp = v;
    return need + 1;
}

void ms_utf8_put(FILE *out, int32_t cp)
{
    if (cp < 0x80) {
        fputc(cp, out);
    } else if (cp < 0x800) {
        fputc(0xC0 | (cp >> 6), out);
        fputc(0x80 | (cp & 0x3F), out);
    } else if (cp < 0x10000) {
        fputc(0xE0 | (cp >> 12), out);
        fputc(0x80 | ((cp >> 6) & 0x3F), out);
        fputc(0x80 | (cp & 0x3F), out);
    } else {
        fputc(0xF0 | (cp >> 18), out);
        fputc(0x80 | ((cp >> 12) & 0x3F), out);
        fputc(0x80 | ((cp >> 6) & 0x3F), out);
        fputc(0x80 | (cp & 0x3F), out);
    }
}
