/* A growing text buffer for the generated profile. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "isf_internal.h"

void ms_isf_text_printf(ms_isf_text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->data ? t->data + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap ? t->cap : 4096;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        if (cap > MS_ISF_MAX_BYTES) {
            t->failed = 1;
            return;
        }
        char *grown = realloc(t->data, cap);
        if (grown == NULL) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->cap = cap;
    }
}

void ms_isf_text_free(ms_isf_text *t)
{
    free(t->data);
    t->data = NULL;
    t->len = t->cap = 0;
}
