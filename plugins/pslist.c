/* pslist: processes from the kernel's active process list. */
#include <stdio.h>

#include "memsift/memsift.h"
#include "registry.h"

static const ms_option_spec options[] = {
    {"pid", MS_OPT_INT, "PID", "show only the process with this PID"},
};

static const ms_column columns[] = {
    {"PID", MS_VT_UINT, 6},        {"PPID", MS_VT_UINT, 6},      {"ImageFileName", MS_VT_STR, 24},
    {"Offset(V)", MS_VT_ADDR, 18}, {"Threads", MS_VT_UINT, 7},   {"CreateTime", MS_VT_TIME, 23},
    {"ExitTime", MS_VT_TIME, 23},
};

typedef struct pslist_state {
    ms_plugin_context *ctx;
    int filter;
    int64_t pid;
    ms_status status;
} pslist_state;

static int emit_process(const ms_process *p, void *user)
{
    pslist_state *s = user;
    if (s->filter && (uint64_t)s->pid != p->pid)
        return 0;
    /* The kernel keeps 15 characters of the name; show the whole one when the image path holds it. */
    const char *name = p->full_name[0] ? p->full_name : p->name;
    ms_value row[] = {
        ms_val_uint(p->pid),    ms_val_uint(p->ppid),        ms_val_str(name),
        ms_val_uint(p->offset), ms_val_uint(p->threads),     ms_val_time(p->create_time),
        ms_val_time(p->exit_time),
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
    pslist_state s = {ctx, 0, 0, MS_OK};
    s.filter = ms_plugin_int(ctx, "pid", &s.pid) == MS_OK;
    st = ms_kernel_processes(kernel, emit_process, &s);
    return st != MS_OK ? st : s.status;
}

static const char *const aliases[] = {"windows.pslist", "windows.pslist.PsList", NULL};

const ms_plugin ms_plugin_pslist = {
    "pslist",
    aliases,
    "List processes from the kernel's active process list",
    "Walks PsActiveProcessHead (found offline: crash-dump header, KDBG, or the kernel's exports) and decodes "
    "each EPROCESS with the kernel profile for the image's build. A process that has exited but is still "
    "referenced keeps its place in the list and shows an ExitTime. ImageFileName is the full executable "
    "name when the image path is readable, otherwise the kernel's 15-character copy.",
    options,
    sizeof options / sizeof options[0],
    columns,
    sizeof columns / sizeof columns[0],
    MS_PLUGIN_NEEDS_MEMORY | MS_PLUGIN_NEEDS_X86,
    run,
};
