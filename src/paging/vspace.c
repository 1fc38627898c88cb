/* ms_vspace: creation, accessors and the mode table. */
#include <stdlib.h>

#include "paging_internal.h"

const char *ms_paging_mode_name(ms_paging_mode mode)
{
    switch (mode) {
    case MS_PAGING_X86: return ms_paging_x86.name;
    case MS_PAGING_PAE: return ms_paging_pae.name;
    case MS_PAGING_X64: return ms_paging_x64.name;
    }
    return "unknown";
}

static const ms_paging_desc *desc_for(ms_paging_mode mode)
{
    switch (mode) {
    case MS_PAGING_X86: return &ms_paging_x86;
    case MS_PAGING_PAE: return &ms_paging_pae;
    case MS_PAGING_X64: return &ms_paging_x64;
    }
    return NULL;
}

ms_status ms_vspace_create(ms_image *image, ms_paging_mode mode, uint64_t dtb, ms_vspace **out)
{
    if (image == NULL || out == NULL)
        return ms_fail(MS_ERR_ARG, "ms_vspace_create needs an image and an out-parameter");
    const ms_paging_desc *d = desc_for(mode);
    if (d == NULL)
        return ms_fail(MS_ERR_ARG, "expected a paging mode 1..3, found %d", (int)mode);
    if (dtb > d->dtb_max)
        return ms_fail(MS_ERR_ARG, "expected a 32-bit %s DTB, found 0x%llx", d->name, (unsigned long long)dtb);
    ms_vspace *vs = calloc(1, sizeof *vs);
    if (vs == NULL)
        return ms_fail(MS_ERR_NOMEM, "out of memory creating an address space");
    vs->image = image;
    vs->desc = d;
    vs->dtb = dtb;
    vs->root = dtb & d->root_mask;
    *out = vs;
    return MS_OK;
}

void ms_vspace_destroy(ms_vspace *vs)
{
    free(vs);
}

ms_paging_mode ms_vspace_mode(const ms_vspace *vs)
{
    return vs->desc->mode;
}

uint64_t ms_vspace_dtb(const ms_vspace *vs)
{
    return vs->dtb;
}

ms_image *ms_vspace_image(const ms_vspace *vs)
{
    return vs->image;
}

unsigned ms_vspace_pointer_size(const ms_vspace *vs)
{
    return vs->desc->mode == MS_PAGING_X64 ? 8 : 4;
}

uint64_t ms_le_entry(const uint8_t *p, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = size; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}
