/* Walking PsLoadedModuleList (LDR_DATA_TABLE_ENTRY, linked in load order). */
#include <string.h>
#include <strings.h>

#include "kernel_internal.h"
#include "module_identity.h"

#define MAX_MODULES 8192

static ms_status read_module(ms_kernel *k, uint64_t entry, ms_module *m)
{
    const ms_ldr_layout *l = &k->ldr;
    memset(m, 0, sizeof *m);
    m->offset = entry;
    ms_status st = ms_vspace_read_ptr(k->vs, entry + (uint64_t)l->dll_base, &m->base);
    if (st != MS_OK)
        return st;
    uint32_t size = 0;
    ms_vspace_read_u32(k->vs, entry + (uint64_t)l->size_of_image, &size);
    m->size = size;
    if (ms_read_unicode_string(k->vs, entry + (uint64_t)l->base_name, m->name, sizeof m->name) != MS_OK)
        ms_kernel_log(k, MS_KLOG_WARNING, "module entry 0x%llx: BaseDllName is not readable: %s",
                      (unsigned long long)entry, ms_last_error());
    if (ms_read_unicode_string(k->vs, entry + (uint64_t)l->full_name, m->path, sizeof m->path) != MS_OK)
        ms_kernel_log(k, MS_KLOG_WARNING, "module entry 0x%llx (%s): FullDllName is not readable: %s",
                      (unsigned long long)entry, m->name, ms_last_error());
    /* No kernel module comes near 1 GiB; a larger size is damage or a smeared entry. */
    if (size >= (1u << 30))
        ms_kernel_log(k, MS_KLOG_WARNING, "module %s at 0x%llx: implausible SizeOfImage 0x%x",
                      m->name[0] ? m->name : "(unnamed)", (unsigned long long)m->base, size);
    ms_module_identify(k->vs, m->base, m->size, &m->pdb, m->file_version, sizeof m->file_version);
    return MS_OK;
}

typedef struct module_walk {
    ms_module_fn fn;
    void *user;
} module_walk;

static int visit_module(ms_kernel *k, uint64_t entry, void *user)
{
    module_walk *w = user;
    ms_module m;
    if (read_module(k, entry, &m) != MS_OK)
        return -1;
    return w->fn(&m, w->user) ? 1 : 0;
}

ms_status ms_kernel_modules(ms_kernel *k, ms_module_fn fn, void *user)
{
    module_walk w = {fn, user};
    return ms_kernel_walk_list(k, k->info.ps_loaded_module_list, "module list (PsLoadedModuleList)", MAX_MODULES,
                               visit_module, &w);
}

typedef struct find_ctx {
    const char *name;
    ms_module *out;
    int found;
} find_ctx;

static int match_module(const ms_module *m, void *user)
{
    find_ctx *f = user;
    if (strcasecmp(m->name, f->name) != 0)
        return 0;
    *f->out = *m;
    f->found = 1;
    return 1;
}

ms_status ms_kernel_find_module(ms_kernel *k, const char *name, ms_module *out)
{
    find_ctx f = {name, out, 0};
    ms_status st = ms_kernel_modules(k, match_module, &f);
    if (st != MS_OK)
        return st;
    return f.found ? MS_OK : ms_fail(MS_ERR_NOT_FOUND, "no loaded module named %s", name);
}
