/* UNICODE_STRING (UTF-16LE, counted) to UTF-8. */
#include <string.h>

#include "kernel_internal.h"

#define MAX_UNICODE_BYTES 0xfffe

static size_t put_utf8(char *out, size_t pos, size_t size, uint32_t cp)
{
    char tmp[4];
    size_t n;
    if (cp < 0x80) {
        tmp[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        tmp[0] = (char)(0xc0 | (cp >> 6));
        tmp[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        tmp[0] = (char)(0xe0 | (cp >> 12));
        tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        tmp[0] = (char)(0xf0 | (cp >> 18));
        tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        tmp[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    if (pos + n >= size)
        return pos;
    memcpy(out + pos, tmp, n);
    return pos + n;
}

ms_status ms_read_unicode_string(ms_vspace *vs, uint64_t va, char *out, size_t size)
{
    if (size == 0)
        return ms_fail(MS_ERR_ARG, "no room for a string");
    out[0] = '\0';
    uint16_t length;
    uint64_t buffer;
    unsigned ptr = ms_vspace_pointer_size(vs);
    ms_status st = ms_vspace_read_u16(vs, va, &length);
    if (st == MS_OK)
        st = ms_vspace_read_ptr(vs, va + ptr, &buffer); /* Buffer follows Length, MaximumLength and padding */
    if (st != MS_OK)
        return st;
    if (length == 0 || buffer == 0)
        return MS_OK;
    if (length > MAX_UNICODE_BYTES || (length & 1))
        return ms_fail(MS_ERR_FORMAT, "UNICODE_STRING at 0x%llx: expected an even length, found %u bytes",
                       (unsigned long long)va, length);
    size_t units = length / 2;
    if (units > (size - 1))
        units = size - 1; /* more UTF-16 units than fit cannot be shown anyway */
    uint16_t wide[4096];
    if (units > sizeof wide / sizeof wide[0])
        units = sizeof wide / sizeof wide[0];
    st = ms_vspace_read(vs, buffer, wide, units * 2);
    if (st != MS_OK)
        return st;
    size_t pos = 0;
    for (size_t i = 0; i < units; i++) {
        uint32_t cp = wide[i];
        if (cp >= 0xd800 && cp < 0xdc00 && i + 1 < units && wide[i + 1] >= 0xdc00 && wide[i + 1] < 0xe000) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (wide[i + 1] - 0xdc00);
            i++;
        } else if (cp >= 0xd800 && cp < 0xe000) {
            cp = 0xfffd;
        }
        if (cp == 0)
            break;
        pos = put_utf8(out, pos, size, cp);
    }
    out[pos] = '\0';
    return MS_OK;
}
