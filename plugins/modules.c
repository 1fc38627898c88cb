/* modules: loaded kernel modules from PsLoadedModuleList. */
#include <stdio.h>

#include "memsift/memsift.h"
#include "registry.h"

static const ms_column columns[] = {
    {"Offset", MS_VT_ADDR, 18}, {"Base", MS_VT_ADDR, 18},  {"Size", MS_VT_ADDR, 10},
    {"Name", MS_VT_STR, 20},    {"Path", MS_VT_STR, 48},   {"PDB", MS_VT_STR, 14},
    {"GUID", MS_VT_STR, 32},    {"Age", MS_VT_UINT, 3},    {"Version", MS_VT_STR, 16},
};

typedef struct modules_state {
    ms_plugin_context *ctx;
    ms_status status;
} modules_state;

static int emit_module(const ms_module *m, void *user)
{
    modules_state *s = user;
    int have_pdb = m->pdb.guid[0] != '\0';
    ms_value row[] = {
        ms_val_uint(m->offset),
        ms_val_uint(m->base),
        ms_val_uint(m->size),
        ms_val_str(m->name),
        ms_val_str(m->path),
        have_pdb ? ms_val_str(m->pdb.name) : ms_val_null(),
        have_pdb ? ms_val_str(m->pdb.guid) : ms_val_null(),
        have_pdb ? ms_val_uint(m->pdb.age) : ms_val_null(),
        m->file_version[0] ? ms_val_str(m->file_version) : ms_val_null(),
    };
    s->status = ms_plugin_emit(s->ctx, row);
    return s->status != MS_OK;
}

static ms_status run(ms_plugin_context *ctx)
{
    ms_kernel *kernel;
    ms_status st = ms_plugin_kernel(ctx, &kernel);
    if (st != MS_OK)
        return st;
    modules_state s = {ctx, MS_OK};
    st = ms_kernel_modules(kernel, emit_module, &s);
    return st != MS_OK ? st : s.status;
}

static const char *const aliases[] = {"windows.modules", "windows.modules.Modules", NULL};

const ms_plugin ms_plugin_modules = {
    "modules",
    aliases,
    "List loaded kernel modules",
    "Walks PsLoadedModuleList and reads each module's own PE headers for its PDB identity (name, GUID, age) "
    "and file version; those columns are empty when the module's header page is not in the image.",
    NULL,
    0,
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};
