/* libFuzzer target: ISF import on arbitrary bytes (plain, gzip or xz JSON).
 * A successful import must yield text that the profile parser accepts.
 * Seeds: tests/fuzz/corpus/isf (small hand-written ISFs). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "memsift/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ms_isf_import_options opts = {size > 0 ? data[0] * 100u : 0, NULL};
    ms_isf_import *imp = NULL;
    if (ms_isf_import_buffer(data, size, "fuzz", &opts, &imp) != MS_OK)
        return 0;
    size_t len;
    const char *text = ms_isf_import_text(imp, &len);
    ms_profile *p = NULL;
    if (ms_profile_parse(text, len, "fuzz", &p) != MS_OK)
        abort();
    ms_profile_destroy(p);
    ms_isf_import_destroy(imp);
    return 0;
}
