/* Walking PsActiveProcessHead and decoding EPROCESS. */
#include <string.h>
#include <strings.h>

#include "kernel_internal.h"

#define MAX_PROCESSES 65536

static uint64_t read_ptr_or_zero(ms_vspace *vs, uint64_t va)
{
    uint64_t v = 0;
    if (ms_vspace_read_ptr(vs, va, &v) != MS_OK)
        return 0;
    return v;
}

/* The image path's last component, when ImageFileName is its truncation. */
static void full_name_from_path(const char *name, const char *path, char *out, size_t size)
{
    const char *base = strrchr(path, '\\');
    base = base ? base + 1 : path;
    size_t n = strlen(name);
    out[0] = '\0';
    if (n > 0 && strncasecmp(base, name, n) == 0 && strlen(base) < size)
        strcpy(out, base);
}

ms_status ms_kernel_read_process(ms_kernel *k, uint64_t eprocess, ms_process *out)
{
    const ms_eprocess_layout *ep = &k->ep;
    ms_vspace *vs = k->vs;
    memset(out, 0, sizeof *out);
    out->offset = eprocess;

    ms_status st = ms_vspace_read_ptr(vs, eprocess + (uint64_t)ep->pid, &out->pid);
    if (st != MS_OK)
        return ms_fail(st, "EPROCESS at 0x%llx is not readable", (unsigned long long)eprocess);
    if (ms_vspace_read(vs, eprocess + (uint64_t)ep->name, out->name, 15) != MS_OK)
        out->name[0] = '\0';
    out->name[15] = '\0';
    for (char *c = out->name; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
            *c = '?';
    if (ep->ppid >= 0)
        out->ppid = read_ptr_or_zero(vs, eprocess + (uint64_t)ep->ppid);
    if (ep->threads >= 0 && ms_vspace_read_u32(vs, eprocess + (uint64_t)ep->threads, &out->threads) == MS_OK &&
        out->threads > 1000000)
        ms_kernel_log(k, MS_KLOG_WARNING, "process %llu (%s) at 0x%llx: implausible ActiveThreads %u",
                      (unsigned long long)out->pid, out->name, (unsigned long long)eprocess, out->threads);
    if (ep->create_time >= 0)
        ms_vspace_read_u64(vs, eprocess + (uint64_t)ep->create_time, &out->create_time);
    if (ep->exit_time >= 0)
        ms_vspace_read_u64(vs, eprocess + (uint64_t)ep->exit_time, &out->exit_time);
    if (ep->dtb >= 0)
        out->dtb = read_ptr_or_zero(vs, eprocess + (uint64_t)ep->dtb);
    if (ep->audit_name >= 0) {
        /* SeAuditProcessCreationInfo.ImageFileName -> OBJECT_NAME_INFORMATION,
         * whose first member is the UNICODE_STRING path. */
        uint64_t oni = read_ptr_or_zero(vs, eprocess + (uint64_t)ep->audit_name);
        char path[520];
        if (oni != 0 && ms_read_unicode_string(vs, oni, path, sizeof path) == MS_OK)
            full_name_from_path(out->name, path, out->full_name, sizeof out->full_name);
    }
    return MS_OK;
}

typedef struct process_walk {
    ms_process_fn fn;
    void *user;
} process_walk;

static int visit_process(ms_kernel *k, uint64_t entry, void *user)
{
    process_walk *w = user;
    ms_process proc;
    if (ms_kernel_read_process(k, entry - (uint64_t)k->ep.links, &proc) != MS_OK)
        return -1;
    return w->fn(&proc, w->user) ? 1 : 0;
}

ms_status ms_kernel_processes(ms_kernel *k, ms_process_fn fn, void *user)
{
    process_walk w = {fn, user};
    return ms_kernel_walk_list(k, k->info.ps_active_process_head, "process list (PsActiveProcessHead)",
                               MAX_PROCESSES, visit_process, &w);
}
